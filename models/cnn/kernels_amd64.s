//go:build amd64

#include "textflag.h"

// negmax<>: -math.MaxFloat32, where OpenFace's max scan starts.
DATA negmax<>+0(SB)/4, $0xff7fffff
GLOBL negmax<>(SB), RODATA|NOPTR, $4

// The pooling kernels work on eight outputs at a time. VSHUFPS splits
// sixteen row values into the even and the odd columns, in the lane order
// 0,1,4,5,2,3,6,7 of the windows; every operand goes through the same
// split, so the scan is done in that order and VPERMPD $0xD8 restores the
// window order before the store. Each scan step is VMAXPS value, best:
// value if value > best, else best.

// func pool2x2AVX(dst, r0, r1 *float32, n int)
TEXT ·pool2x2AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS negmax<>(SB), Y15

loop2:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2 // row 0, left columns
	VSHUFPS $0xDD, Y1, Y0, Y3 // row 0, right columns
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VSHUFPS $0x88, Y1, Y0, Y4 // row 1, left columns
	VSHUFPS $0xDD, Y1, Y0, Y5 // row 1, right columns
	VMAXPS Y15, Y2, Y6
	VMAXPS Y6, Y3, Y6
	VMAXPS Y6, Y4, Y6
	VMAXPS Y6, Y5, Y6
	VPERMPD $0xD8, Y6, Y6
	VMOVUPS Y6, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JGT loop2
	VZEROUPPER
	RET

// func pool3x3s2AVX(dst, r0, r1, r2 *float32, n int)
TEXT ·pool3x3s2AVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ r0+8(FP), SI
	MOVQ r1+16(FP), DX
	MOVQ r2+24(FP), R8
	MOVQ n+32(FP), CX
	VBROADCASTSS negmax<>(SB), Y15

loop3:
	// Row 0: columns 2x, 2x+1, 2x+2.
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VMOVUPS 8(SI), Y0
	VMOVUPS 40(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y4
	VMAXPS Y15, Y2, Y6
	VMAXPS Y6, Y3, Y6
	VMAXPS Y6, Y4, Y6
	// Row 1.
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VMOVUPS 8(DX), Y0
	VMOVUPS 40(DX), Y1
	VSHUFPS $0x88, Y1, Y0, Y4
	VMAXPS Y6, Y2, Y6
	VMAXPS Y6, Y3, Y6
	VMAXPS Y6, Y4, Y6
	// Row 2.
	VMOVUPS (R8), Y0
	VMOVUPS 32(R8), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VMOVUPS 8(R8), Y0
	VMOVUPS 40(R8), Y1
	VSHUFPS $0x88, Y1, Y0, Y4
	VMAXPS Y6, Y2, Y6
	VMAXPS Y6, Y3, Y6
	VMAXPS Y6, Y4, Y6
	VPERMPD $0xD8, Y6, Y6
	VMOVUPS Y6, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, R8
	ADDQ $32, DI
	SUBQ $8, CX
	JGT loop3
	VZEROUPPER
	RET

// func preluAVX(m *float32, n int, slope float32)
// v >= 0 (ordered: false for NaN) keeps v, anything else becomes v*slope.
TEXT ·preluAVX(SB), NOSPLIT, $0-20
	MOVQ m+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS slope+16(FP), Y15
	VXORPS Y14, Y14, Y14

loopp:
	VMOVUPS (DI), Y0
	VMULPS Y15, Y0, Y1
	VCMPPS $0x1D, Y14, Y0, Y2 // v >= 0, ordered, quiet
	VBLENDVPS Y2, Y0, Y1, Y3 // mask ? v : v*slope
	VMOVUPS Y3, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JGT loopp
	VZEROUPPER
	RET
