//go:build amd64

#include "textflag.h"

// RECIPNORM stores recipNorm of the eight sums of squares in ss (ssx its
// lower half) at off(DI): each as double, square root, rounded to float,
// 0 replaced by 1 (Y14 holds 1.0f), and its reciprocal in double (Y15
// holds 1.0) rounded to float. Y12 and Y13 are scratch.
#define RECIPNORM(ss, ssx, off) \
	VCVTPS2PD ssx, Y12; \
	VEXTRACTF128 $1, ss, X13; \
	VCVTPS2PD X13, Y13; \
	VSQRTPD Y12, Y12; \
	VSQRTPD Y13, Y13; \
	VCVTPD2PSY Y12, X12; \
	VCVTPD2PSY Y13, X13; \
	VINSERTF128 $1, X13, Y12, Y12; \
	VXORPS Y13, Y13, Y13; \
	VCMPPS $0, Y13, Y12, Y13; \
	VBLENDVPS Y13, Y14, Y12, Y12; \
	VCVTPS2PD X12, Y13; \
	VEXTRACTF128 $1, Y12, X12; \
	VCVTPS2PD X12, Y12; \
	VDIVPD Y13, Y15, Y13; \
	VDIVPD Y12, Y15, Y12; \
	VCVTPD2PSY Y13, X13; \
	VCVTPD2PSY Y12, X12; \
	VINSERTF128 $1, X12, Y13, Y13; \
	VMOVUPS Y13, off(DI)

// func patchStats(x *float32, bstride, xstride uintptr, pw, ph int, inv float32, mean, scale *float32)
//
// Four vectors of eight positions side by side: Y0-Y3 the sums and then
// the means, Y4-Y7 the sums of squares.
TEXT ·patchStats(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ bstride+8(FP), R8
	MOVQ xstride+16(FP), R9
	MOVQ pw+24(FP), R10
	MOVQ ph+32(FP), R11
	VBROADCASTSS inv+40(FP), Y15
	MOVQ mean+48(FP), DX
	MOVQ scale+56(FP), DI

	// Means: rows (yy) outer, columns (xx) inner.
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, AX
	MOVQ R11, CX

meanrow:
	MOVQ AX, BX
	MOVQ R10, R12

meancol:
	VADDPS (BX), Y0, Y0
	VADDPS 32(BX), Y1, Y1
	VADDPS 64(BX), Y2, Y2
	VADDPS 96(BX), Y3, Y3
	ADDQ R9, BX
	DECQ R12
	JNZ meancol
	ADDQ R8, AX
	DECQ CX
	JNZ meanrow

	VDIVPS Y15, Y0, Y0
	VDIVPS Y15, Y1, Y1
	VDIVPS Y15, Y2, Y2
	VDIVPS Y15, Y3, Y3
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)

	// Squared deviations: columns (xx) outer, rows (yy) inner.
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ SI, AX
	MOVQ R10, CX

normcol:
	MOVQ AX, BX
	MOVQ R11, R12

normrow:
	VMOVUPS (BX), Y8
	VMOVUPS 32(BX), Y9
	VMOVUPS 64(BX), Y10
	VMOVUPS 96(BX), Y11
	VSUBPS Y0, Y8, Y8
	VSUBPS Y1, Y9, Y9
	VSUBPS Y2, Y10, Y10
	VSUBPS Y3, Y11, Y11
	VMULPS Y8, Y8, Y8
	VMULPS Y9, Y9, Y9
	VMULPS Y10, Y10, Y10
	VMULPS Y11, Y11, Y11
	VADDPS Y8, Y4, Y4
	VADDPS Y9, Y5, Y5
	VADDPS Y10, Y6, Y6
	VADDPS Y11, Y7, Y7
	ADDQ R8, BX
	DECQ R12
	JNZ normrow
	ADDQ R9, AX
	DECQ CX
	JNZ normcol

	// recipNorm: the norm as float(sqrt(double)), 1 where it is 0, and
	// its reciprocal in double rounded to float. Y14 holds 1.0f, Y15 1.0.
	MOVL $0x3f800000, AX
	VMOVD AX, X14
	VBROADCASTSS X14, Y14
	MOVQ $0x3ff0000000000000, AX
	VMOVQ AX, X15
	VBROADCASTSD X15, Y15
	RECIPNORM(Y4, X4, 0)
	RECIPNORM(Y5, X5, 32)
	RECIPNORM(Y6, X6, 64)
	RECIPNORM(Y7, X7, 96)
	VZEROUPPER
	RET

// NEURON runs one FMA step of the eight chains: Y10 holds the eight
// positions' im2col values, DI the eight neurons' weights.
#define NEURON \
	VBROADCASTSS 0(DI), Y11; \
	VFMADD231PS Y11, Y10, Y0; \
	VBROADCASTSS 4(DI), Y12; \
	VFMADD231PS Y12, Y10, Y1; \
	VBROADCASTSS 8(DI), Y13; \
	VFMADD231PS Y13, Y10, Y2; \
	VBROADCASTSS 12(DI), Y14; \
	VFMADD231PS Y14, Y10, Y3; \
	VBROADCASTSS 16(DI), Y15; \
	VFMADD231PS Y15, Y10, Y4; \
	VBROADCASTSS 20(DI), Y11; \
	VFMADD231PS Y11, Y10, Y5; \
	VBROADCASTSS 24(DI), Y12; \
	VFMADD231PS Y12, Y10, Y6; \
	VBROADCASTSS 28(DI), Y13; \
	VFMADD231PS Y13, Y10, Y7

// func neuronPanel(x *float32, bstride, xstride uintptr, pw, ph int, mean, scale, w *float32, out *[64]float32)
//
// Y0-Y7 are the chains of the eight neurons, Y8 and Y9 the positions'
// means and reciprocal norms.
TEXT ·neuronPanel(SB), NOSPLIT, $0-72
	MOVQ x+0(FP), SI
	MOVQ bstride+8(FP), R8
	MOVQ xstride+16(FP), R9
	MOVQ pw+24(FP), R10
	MOVQ ph+32(FP), R11
	MOVQ mean+40(FP), AX
	VMOVUPS (AX), Y8
	MOVQ scale+48(FP), AX
	VMOVUPS (AX), Y9
	MOVQ w+56(FP), DI
	MOVQ out+64(FP), DX

	// Element 0 of every im2col row is 1 (the bias).
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVL $0x3f800000, AX
	VMOVD AX, X10
	VBROADCASTSS X10, Y10
	NEURON
	ADDQ $32, DI

	// Then the patch column-major: columns (xx) outer, rows (yy) inner.
	MOVQ SI, AX
	MOVQ R10, CX

panelcol:
	MOVQ AX, BX
	MOVQ R11, R12

panelrow:
	VMOVUPS (BX), Y10
	VSUBPS Y8, Y10, Y10
	VMULPS Y9, Y10, Y10
	NEURON
	ADDQ $32, DI
	ADDQ R8, BX
	DECQ R12
	JNZ panelrow
	ADDQ R9, AX
	DECQ CX
	JNZ panelcol

	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VMOVUPS Y4, 128(DX)
	VMOVUPS Y5, 160(DX)
	VMOVUPS Y6, 192(DX)
	VMOVUPS Y7, 224(DX)
	VZEROUPPER
	RET

// sigconst<>: the constants of math.Exp's amd64 kernel (exp_amd64.s, the
// same bits as its $-literals and exprodata<>), each four times for
// 256-bit memory operands, at multiples of 32 bytes:
//     0: the absolute value mask
//    32: 700, the bound of the fast path
//    64: LOG2E
//    96: LN2U
//   128: LN2L
//   160: 0.0625
//   192: the Taylor coefficients: 1/8!
//   224: 1/7!
//   256: 1/6!
//   288: 1/5!
//   320: 1/4!
//   352: 1/3!
//   384: 0.5
//   416: 1.0
//   448: 2.0
//   480: the exponent bias 1023 (int64)
//   512: the sign bit
DATA sigconst<>+0(SB)/8, $0x7fffffffffffffff
DATA sigconst<>+8(SB)/8, $0x7fffffffffffffff
DATA sigconst<>+16(SB)/8, $0x7fffffffffffffff
DATA sigconst<>+24(SB)/8, $0x7fffffffffffffff
DATA sigconst<>+32(SB)/8, $0x4085e00000000000
DATA sigconst<>+40(SB)/8, $0x4085e00000000000
DATA sigconst<>+48(SB)/8, $0x4085e00000000000
DATA sigconst<>+56(SB)/8, $0x4085e00000000000
DATA sigconst<>+64(SB)/8, $0x3ff71547652b82fe
DATA sigconst<>+72(SB)/8, $0x3ff71547652b82fe
DATA sigconst<>+80(SB)/8, $0x3ff71547652b82fe
DATA sigconst<>+88(SB)/8, $0x3ff71547652b82fe
DATA sigconst<>+96(SB)/8, $0x3fe62e42fefa3000
DATA sigconst<>+104(SB)/8, $0x3fe62e42fefa3000
DATA sigconst<>+112(SB)/8, $0x3fe62e42fefa3000
DATA sigconst<>+120(SB)/8, $0x3fe62e42fefa3000
DATA sigconst<>+128(SB)/8, $0x3d53de6af278ece6
DATA sigconst<>+136(SB)/8, $0x3d53de6af278ece6
DATA sigconst<>+144(SB)/8, $0x3d53de6af278ece6
DATA sigconst<>+152(SB)/8, $0x3d53de6af278ece6
DATA sigconst<>+160(SB)/8, $0x3fb0000000000000
DATA sigconst<>+168(SB)/8, $0x3fb0000000000000
DATA sigconst<>+176(SB)/8, $0x3fb0000000000000
DATA sigconst<>+184(SB)/8, $0x3fb0000000000000
DATA sigconst<>+192(SB)/8, $0x3efa01a01a01a01a
DATA sigconst<>+200(SB)/8, $0x3efa01a01a01a01a
DATA sigconst<>+208(SB)/8, $0x3efa01a01a01a01a
DATA sigconst<>+216(SB)/8, $0x3efa01a01a01a01a
DATA sigconst<>+224(SB)/8, $0x3f2a01a01a01a01a
DATA sigconst<>+232(SB)/8, $0x3f2a01a01a01a01a
DATA sigconst<>+240(SB)/8, $0x3f2a01a01a01a01a
DATA sigconst<>+248(SB)/8, $0x3f2a01a01a01a01a
DATA sigconst<>+256(SB)/8, $0x3f56c16c16c16c17
DATA sigconst<>+264(SB)/8, $0x3f56c16c16c16c17
DATA sigconst<>+272(SB)/8, $0x3f56c16c16c16c17
DATA sigconst<>+280(SB)/8, $0x3f56c16c16c16c17
DATA sigconst<>+288(SB)/8, $0x3f81111111111111
DATA sigconst<>+296(SB)/8, $0x3f81111111111111
DATA sigconst<>+304(SB)/8, $0x3f81111111111111
DATA sigconst<>+312(SB)/8, $0x3f81111111111111
DATA sigconst<>+320(SB)/8, $0x3fa5555555555555
DATA sigconst<>+328(SB)/8, $0x3fa5555555555555
DATA sigconst<>+336(SB)/8, $0x3fa5555555555555
DATA sigconst<>+344(SB)/8, $0x3fa5555555555555
DATA sigconst<>+352(SB)/8, $0x3fc5555555555555
DATA sigconst<>+360(SB)/8, $0x3fc5555555555555
DATA sigconst<>+368(SB)/8, $0x3fc5555555555555
DATA sigconst<>+376(SB)/8, $0x3fc5555555555555
DATA sigconst<>+384(SB)/8, $0x3fe0000000000000
DATA sigconst<>+392(SB)/8, $0x3fe0000000000000
DATA sigconst<>+400(SB)/8, $0x3fe0000000000000
DATA sigconst<>+408(SB)/8, $0x3fe0000000000000
DATA sigconst<>+416(SB)/8, $0x3ff0000000000000
DATA sigconst<>+424(SB)/8, $0x3ff0000000000000
DATA sigconst<>+432(SB)/8, $0x3ff0000000000000
DATA sigconst<>+440(SB)/8, $0x3ff0000000000000
DATA sigconst<>+448(SB)/8, $0x4000000000000000
DATA sigconst<>+456(SB)/8, $0x4000000000000000
DATA sigconst<>+464(SB)/8, $0x4000000000000000
DATA sigconst<>+472(SB)/8, $0x4000000000000000
DATA sigconst<>+480(SB)/8, $0x00000000000003ff
DATA sigconst<>+488(SB)/8, $0x00000000000003ff
DATA sigconst<>+496(SB)/8, $0x00000000000003ff
DATA sigconst<>+504(SB)/8, $0x00000000000003ff
DATA sigconst<>+512(SB)/8, $0x8000000000000000
DATA sigconst<>+520(SB)/8, $0x8000000000000000
DATA sigconst<>+528(SB)/8, $0x8000000000000000
DATA sigconst<>+536(SB)/8, $0x8000000000000000
GLOBL sigconst<>(SB), RODATA|NOPTR, $544

// func sigmoidAcc(resp, z *float32, n int, a2 float64) int
//
// Per group of four: Y0 the argument and then exp, Y1 the polynomial, X2
// the exponent as int32, Y3 as double, Y4 as the power of two.
TEXT ·sigmoidAcc(SB), NOSPLIT, $0-40
	MOVQ resp+0(FP), DI
	MOVQ z+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSD a2+24(FP), Y15
	XORQ AX, AX

sigloop:
	CMPQ AX, CX
	JGE sigdone
	// x = float64(−z); leave if some |x| > 700 or is NaN.
	VCVTPS2PD (SI)(AX*4), Y0
	VXORPD sigconst<>+512(SB), Y0, Y0
	VANDPD sigconst<>+0(SB), Y0, Y1
	VCMPPD $2, sigconst<>+32(SB), Y1, Y1
	VMOVMSKPD Y1, BX
	CMPQ BX, $15
	JNE sigdone
	// archExp's FMA path: e = round(x·log2 e), x −= e·ln2 (two parts),
	// x /= 16, the Taylor polynomial, four squarings of (1+t), times 2^e.
	VMULPD sigconst<>+64(SB), Y0, Y1
	VCVTPD2DQY Y1, X2
	VCVTDQ2PD X2, Y3
	VFNMADD231PD sigconst<>+96(SB), Y3, Y0
	VFNMADD231PD sigconst<>+128(SB), Y3, Y0
	VMULPD sigconst<>+160(SB), Y0, Y0
	VMOVUPD sigconst<>+192(SB), Y1
	VFMADD213PD sigconst<>+224(SB), Y0, Y1
	VFMADD213PD sigconst<>+256(SB), Y0, Y1
	VFMADD213PD sigconst<>+288(SB), Y0, Y1
	VFMADD213PD sigconst<>+320(SB), Y0, Y1
	VFMADD213PD sigconst<>+352(SB), Y0, Y1
	VFMADD213PD sigconst<>+384(SB), Y0, Y1
	VFMADD213PD sigconst<>+416(SB), Y0, Y1
	VMULPD Y1, Y0, Y0
	VADDPD sigconst<>+448(SB), Y0, Y1
	VMULPD Y1, Y0, Y0
	VADDPD sigconst<>+448(SB), Y0, Y1
	VMULPD Y1, Y0, Y0
	VADDPD sigconst<>+448(SB), Y0, Y1
	VMULPD Y1, Y0, Y0
	VADDPD sigconst<>+448(SB), Y0, Y1
	VFMADD213PD sigconst<>+416(SB), Y1, Y0
	VPMOVSXDQ X2, Y4
	VPADDQ sigconst<>+480(SB), Y4, Y4
	VPSLLQ $52, Y4, Y4
	VMULPD Y4, Y0, Y0
	// resp = float(double(resp) + a2/(1 + exp)).
	VADDPD sigconst<>+416(SB), Y0, Y0
	VDIVPD Y0, Y15, Y0
	VCVTPS2PD (DI)(AX*4), Y1
	VADDPD Y0, Y1, Y1
	VCVTPD2PSY Y1, X1
	VMOVUPS X1, (DI)(AX*4)
	ADDQ $4, AX
	JMP sigloop

sigdone:
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET

// func spreadRuns(bands, aoiT *float32, ph, aw, ws, bs, ah int)
//
// For every band yy < ph and area column x < aw, copies the ws values
// at aoiT[x·ah+yy:] to bands[yy·bs+x·ws:], eight at a time; a copy's
// excess over ws is overwritten by the next column's run.
TEXT ·spreadRuns(SB), NOSPLIT, $0-56
	MOVQ bands+0(FP), DI
	MOVQ aoiT+8(FP), SI
	MOVQ ph+16(FP), R11
	MOVQ aw+24(FP), R10
	MOVQ ws+32(FP), R8
	SHLQ $2, R8
	MOVQ bs+40(FP), R12
	SHLQ $2, R12
	MOVQ ah+48(FP), R9
	SHLQ $2, R9

spreadband:
	MOVQ DI, AX
	MOVQ SI, DX
	MOVQ R10, CX

spreadrun:
	XORQ BX, BX

spreadvec:
	VMOVUPS (DX)(BX*1), Y0
	VMOVUPS Y0, (AX)(BX*1)
	ADDQ $32, BX
	CMPQ BX, R8
	JLT spreadvec
	ADDQ R8, AX
	ADDQ R9, DX
	DECQ CX
	JNZ spreadrun
	ADDQ R12, DI
	ADDQ $4, SI
	DECQ R11
	JNZ spreadband
	VZEROUPPER
	RET

// func warpRow(dst *float32, pix *byte, adelta, bdelta *int32, x0, y0, n, stride, sw, sh, maxOff int) int
//
// Eight destination pixels at a time: Y0/Y1 the row's x0/y0, Y2/Y3 the
// fixed-point coordinates, Y4/Y5 the source pixel, Y6/Y7 the 1/32
// fractions, then the weights and the taps.
TEXT ·warpRow(SB), NOSPLIT, $0-96
	MOVQ dst+0(FP), DI
	MOVQ pix+8(FP), SI
	MOVQ adelta+16(FP), R8
	MOVQ bdelta+24(FP), R9
	VPBROADCASTD x0+32(FP), Y0
	VPBROADCASTD y0+40(FP), Y1
	MOVQ n+48(FP), CX
	MOVQ stride+56(FP), R10
	VPBROADCASTD stride+56(FP), Y15
	VPBROADCASTD sw+64(FP), Y14
	VPBROADCASTD sh+72(FP), Y13
	VPBROADCASTD maxOff+80(FP), Y12
	MOVL $1, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	VPSUBD Y11, Y14, Y14 // sw − 1
	VPSUBD Y11, Y13, Y13 // sh − 1
	VPADDD Y11, Y12, Y12 // maxOff + 1
	XORQ AX, AX

warploop:
	CMPQ AX, CX
	JGE warpdone
	// xx = int32(x0 + adelta) >> 5, likewise yy; the source pixel is
	// (xx >> 5, yy >> 5), the fractions xx & 31, yy & 31.
	VPADDD (R8)(AX*4), Y0, Y2
	VPADDD (R9)(AX*4), Y1, Y3
	VPSRAD $5, Y2, Y2
	VPSRAD $5, Y3, Y3
	VPSRAD $5, Y2, Y4
	VPSRAD $5, Y3, Y5
	// Leave unless every lane has both taps of both rows inside the image
	// (0 ≤ sx < sw−1, 0 ≤ sy < sh−1) and its four-byte loads inside the
	// pixels (offset ≤ maxOff).
	VPCMPEQD Y10, Y10, Y10
	VPCMPGTD Y10, Y4, Y8  // sx > −1
	VPCMPGTD Y10, Y5, Y9  // sy > −1
	VPAND Y9, Y8, Y8
	VPCMPGTD Y4, Y14, Y9  // sw−1 > sx
	VPAND Y9, Y8, Y8
	VPCMPGTD Y5, Y13, Y9  // sh−1 > sy
	VPAND Y9, Y8, Y8
	VPMULLD Y15, Y5, Y5
	VPADDD Y4, Y5, Y5     // offset sy·stride + sx
	VPCMPGTD Y5, Y12, Y9  // maxOff+1 > offset
	VPAND Y9, Y8, Y8
	VMOVMSKPS Y8, BX
	CMPQ BX, $0xff
	JNE warpdone
	// The taps: bytes 0 and 1 of the words at the offset and one row on.
	VPCMPEQD Y10, Y10, Y10
	VPGATHERDD Y10, (SI)(Y5*1), Y6
	VPCMPEQD Y10, Y10, Y10
	LEAQ (SI)(R10*1), DX
	VPGATHERDD Y10, (DX)(Y5*1), Y7
	VPCMPEQD Y9, Y9, Y9
	VPSRLD $24, Y9, Y9    // 0xff
	VPSRLD $8, Y6, Y4
	VPAND Y9, Y6, Y6      // p00
	VPAND Y9, Y4, Y4      // p01
	VPSRLD $8, Y7, Y5
	VPAND Y9, Y7, Y7      // p10
	VPAND Y9, Y5, Y5      // p11
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y7, Y7
	VCVTDQ2PS Y5, Y5
	// bilinearWeights: tx = fx·(1/32), ty = fy·(1/32); w0 = (1−ty)(1−tx),
	// w1 = (1−ty)·tx, w2 = ty·(1−tx), w3 = ty·tx (all exact).
	MOVL $31, BX
	VMOVD BX, X9
	VPBROADCASTD X9, Y9
	VPAND Y9, Y2, Y2
	VPAND Y9, Y3, Y3
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	MOVL $0x3d000000, BX // 1/32
	VMOVD BX, X9
	VBROADCASTSS X9, Y9
	VMULPS Y9, Y2, Y2     // tx
	VMULPS Y9, Y3, Y3     // ty
	MOVL $0x3f800000, BX  // 1
	VMOVD BX, X9
	VBROADCASTSS X9, Y9
	VSUBPS Y2, Y9, Y8     // 1 − tx
	VSUBPS Y3, Y9, Y9     // 1 − ty
	VMULPS Y8, Y9, Y10    // w0
	VMULPS Y10, Y6, Y6    // p00·w0
	VMULPS Y2, Y9, Y10    // w1
	VMULPS Y10, Y4, Y4    // p01·w1
	VADDPS Y4, Y6, Y6
	VMULPS Y8, Y3, Y10    // w2
	VMULPS Y10, Y7, Y7    // p10·w2
	VADDPS Y7, Y6, Y6
	VMULPS Y2, Y3, Y10    // w3
	VMULPS Y10, Y5, Y5    // p11·w3
	VADDPS Y5, Y6, Y6
	VMOVUPS Y6, (DI)(AX*4)
	ADDQ $8, AX
	JMP warploop

warpdone:
	MOVQ AX, ret+88(FP)
	VZEROUPPER
	RET
