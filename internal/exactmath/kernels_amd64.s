//go:build amd64

#include "textflag.h"

// func fmaPanel(x *float32, xstride uintptr, w0, w1, w2, w3 *float32, k int, out *[32]float32)
TEXT ·fmaPanel(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ xstride+8(FP), R8
	MOVQ w0+16(FP), DI
	MOVQ w1+24(FP), R9
	MOVQ w2+32(FP), R10
	MOVQ w3+40(FP), R11
	MOVQ k+48(FP), CX
	MOVQ out+56(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
	TESTQ CX, CX
	JLE done

loop:
	VMOVUPS (SI), Y4
	VBROADCASTSS (DI)(AX*4), Y5
	VFMADD231PS Y4, Y5, Y0
	VBROADCASTSS (R9)(AX*4), Y6
	VFMADD231PS Y4, Y6, Y1
	VBROADCASTSS (R10)(AX*4), Y7
	VFMADD231PS Y4, Y7, Y2
	VBROADCASTSS (R11)(AX*4), Y8
	VFMADD231PS Y4, Y8, Y3
	ADDQ R8, SI
	INCQ AX
	CMPQ AX, CX
	JLT loop

done:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VZEROUPPER
	RET

// tailmask<>: sixteen all-ones int32 lanes then sixteen zeros; the 16 lanes
// starting at element 16-t enable the first t lanes.
DATA tailmask<>+0(SB)/8, $-1
DATA tailmask<>+8(SB)/8, $-1
DATA tailmask<>+16(SB)/8, $-1
DATA tailmask<>+24(SB)/8, $-1
DATA tailmask<>+32(SB)/8, $-1
DATA tailmask<>+40(SB)/8, $-1
DATA tailmask<>+48(SB)/8, $-1
DATA tailmask<>+56(SB)/8, $-1
DATA tailmask<>+64(SB)/8, $0
DATA tailmask<>+72(SB)/8, $0
DATA tailmask<>+80(SB)/8, $0
DATA tailmask<>+88(SB)/8, $0
DATA tailmask<>+96(SB)/8, $0
DATA tailmask<>+104(SB)/8, $0
DATA tailmask<>+112(SB)/8, $0
DATA tailmask<>+120(SB)/8, $0
GLOBL tailmask<>(SB), RODATA|NOPTR, $128

// func dotLanes2(a0, a1, x *float32, n, tail int, out *[32]float32)
TEXT ·dotLanes2(SB), NOSPLIT, $0-48
	MOVQ a0+0(FP), DI
	MOVQ a1+8(FP), R9
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	MOVQ tail+32(FP), BX
	MOVQ out+40(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ CX, CX
	JLE lanestail

lanesloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS (R9), Y4, Y2
	VFMADD231PS 32(R9), Y5, Y3
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R9
	SUBQ $16, CX
	JG lanesloop

lanestail:
	// The last t < 16 values: masked loads (which neither read nor fault
	// past the mask) and FMAs whose results are kept only in the first t
	// lanes, so the other lanes keep their sums bit for bit.
	TESTQ BX, BX
	JLE lanesdone
	LEAQ tailmask<>+64(SB), R10
	SHLQ $2, BX
	SUBQ BX, R10
	VMOVUPS (R10), Y10
	VMOVUPS 32(R10), Y11
	VMASKMOVPS (SI), Y10, Y4
	VMASKMOVPS 32(SI), Y11, Y5
	VMASKMOVPS (DI), Y10, Y6
	VMASKMOVPS 32(DI), Y11, Y7
	VMASKMOVPS (R9), Y10, Y8
	VMASKMOVPS 32(R9), Y11, Y9
	VMOVAPS Y0, Y12
	VFMADD231PS Y6, Y4, Y12
	VBLENDVPS Y10, Y12, Y0, Y0
	VMOVAPS Y1, Y12
	VFMADD231PS Y7, Y5, Y12
	VBLENDVPS Y11, Y12, Y1, Y1
	VMOVAPS Y2, Y12
	VFMADD231PS Y8, Y4, Y12
	VBLENDVPS Y10, Y12, Y2, Y2
	VMOVAPS Y3, Y12
	VFMADD231PS Y9, Y5, Y12
	VBLENDVPS Y11, Y12, Y3, Y3

lanesdone:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VZEROUPPER
	RET

// func dotLanesQuad2(a0, a1, x *float32, n, tail int, out *[2]float32)
//
// dotLanes2, then each row's 16 lanes reduced by ReduceQuad's tree:
// pairs, pairs of pairs (the four quads), then (q0+q1)+(q2+q3).
TEXT ·dotLanesQuad2(SB), NOSPLIT, $0-48
	MOVQ a0+0(FP), DI
	MOVQ a1+8(FP), R9
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	MOVQ tail+32(FP), BX
	MOVQ out+40(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ CX, CX
	JLE quadtail

quadloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS (R9), Y4, Y2
	VFMADD231PS 32(R9), Y5, Y3
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R9
	SUBQ $16, CX
	JG quadloop

quadtail:
	// The last t < 16 values: masked loads (which neither read nor fault
	// past the mask) and FMAs whose results are kept only in the first t
	// lanes, so the other lanes keep their sums bit for bit.
	TESTQ BX, BX
	JLE quaddone
	LEAQ tailmask<>+64(SB), R10
	SHLQ $2, BX
	SUBQ BX, R10
	VMOVUPS (R10), Y10
	VMOVUPS 32(R10), Y11
	VMASKMOVPS (SI), Y10, Y4
	VMASKMOVPS 32(SI), Y11, Y5
	VMASKMOVPS (DI), Y10, Y6
	VMASKMOVPS 32(DI), Y11, Y7
	VMASKMOVPS (R9), Y10, Y8
	VMASKMOVPS 32(R9), Y11, Y9
	VMOVAPS Y0, Y12
	VFMADD231PS Y6, Y4, Y12
	VBLENDVPS Y10, Y12, Y0, Y0
	VMOVAPS Y1, Y12
	VFMADD231PS Y7, Y5, Y12
	VBLENDVPS Y11, Y12, Y1, Y1
	VMOVAPS Y2, Y12
	VFMADD231PS Y8, Y4, Y12
	VBLENDVPS Y10, Y12, Y2, Y2
	VMOVAPS Y3, Y12
	VFMADD231PS Y9, Y5, Y12
	VBLENDVPS Y11, Y12, Y3, Y3

quaddone:
	// Row a0: Y0 = l0..l7, Y1 = l8..l15. The first VHADDPS gives, per
	// 128-bit half, [l0+l1, l2+l3, l8+l9, l10+l11 | l4+l5, l6+l7, l12+l13,
	// l14+l15]; the second [q0, q2, q0, q2 | q1, q3, q1, q3]; adding the
	// halves gives [q0+q1, q2+q3, ...], and a last VHADDPS their sum.
	VHADDPS Y1, Y0, Y0
	VHADDPS Y0, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (DX)
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPS X3, X2, X2
	VHADDPS X2, X2, X2
	VMOVSS X2, 4(DX)
	VZEROUPPER
	RET
