package exactmath

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"
)

// TestCholeskyInvertLAPACKMatchesOpenBLAS holds CholeskyInvertLAPACK to
// what OpenBLAS 0.3.21 (Debian 12's libopenblas0-pthread 0.3.21+ds-4, one
// thread, OPENBLAS_CORETYPE Cooperlake and SkylakeX alike) returned for
// sposv("L", n, n, a, n, I, n) on these matrices, transposed back as
// OpenCV does: the SHA-256 of the whole n×n result and its first and last
// entries. The sizes cover spotrf's unblocked (≤ 32) and nested blocks
// (from 200 on it recurses twice), its 4-column trsm groups with 2- and
// 1-column remainders, the trsm row blocks of 16 with every remainder and
// strsm's panels of 320 rows (333 and 700).
func TestCholeskyInvertLAPACKMatchesOpenBLAS(t *testing.T) {
	for _, c := range []struct {
		n           int
		seed        uint64
		sha         string
		first, last float32
	}{
		{100, 1, "690f3c283e5bf1853e6991f66aa0440ffb44b5d17891eb637bfc0dc64e83415d", 0.094417036, 0.1274802},
		{100, 2, "eb7152c620a2a98a7ea0baa09e8911996eb31e765b5a79b9a54b9ab08b457589", 0.11822258, 0.11242277},
		{101, 1, "23a2281ec2e042cc16eebf788e14ba80dc2e99c80ef00049a4158bc813c90f79", 0.09043198, 0.10095194},
		{101, 2, "44f1e494267d39771f21fcda1438d066dd3535dd5a8bb9f94cbfa1100036eda6", 0.10340575, 0.0971834},
		{113, 1, "078dadee904fdafcbf12d79144c735b7bfc1ead62defd9190ae5b6555d19aae8", 0.09732701, 0.10345818},
		{113, 2, "fa67a2023b9631368020900c315474b66bb1fc64107cdc042a499ffe4e5fe56f", 0.1336386, 0.13309701},
		{121, 1, "870d0baeabc4e43c1ef244e12126f3f34e48ca25c89f0ce1439398c53ace094f", 0.07069336, 0.101349905},
		{121, 2, "b06efa82f76fb524ea4627bf789cd56f34cd1aa9109e7568d1bddb11c13a0120", 0.099848874, 0.089202285},
		{128, 1, "eb827524c370962d027eab5d9a8ace66f97a99dd3c6097ed4a7ad23f1f04a884", 0.08565632, 0.098953575},
		{128, 2, "9f6e7a893ad4a057e78bc8e1883c0e95dab79964f6d2b82c02709efe5d19bc95", 0.089424685, 0.09324949},
		{150, 1, "315119a894d1b773eddaa942635997744f7f51cf0b572671f6ef3072fa310f82", 0.0563871, 0.07123218},
		{150, 2, "3c9418ede58bee9b16c5d3d6bbfb9ee8eae254708c545af41b293d02e704fdd8", 0.07144711, 0.060797703},
		{200, 1, "7cf4254a12fcb0f0293ea6b4e7e83b7dd0b1bed8daf776747f4f0e880ed9565a", 0.05938344, 0.06173034},
		{200, 2, "472631aa457aea642014e122c793e0fa03f2b9f948413c2e04d29221828bf998", 0.060177617, 0.07104131},
		{257, 1, "3ae7322dd02d4a273007f564f9d31cf200c9ef5122cfd05a57142c9b39f75e16", 0.042276762, 0.044307422},
		{257, 2, "488ee3b43cc2fa8a3ed553f378badf3b806956316c4662973bbc3469165238fd", 0.04333471, 0.04119844},
		{333, 1, "5457b58aacaeff9a3baa234d993fe5e32492bd3fb2980918667e35b197f14c2c", 0.030251564, 0.03526077},
		{700, 1, "41482778ab3e080957cea43c436aae0657573797f8e90ad7be12ee882e26874c", 0.016659958, 0.015342077},
	} {
		a := spdExact(c.n, c.seed)
		in := append([]float32(nil), a...)
		x := CholeskyInvertLAPACK(a, c.n)
		if sha256F32(a) != sha256F32(in) {
			t.Errorf("n=%d seed=%d: the input was modified", c.n, c.seed)
		}
		if x[0] != c.first || x[len(x)-1] != c.last {
			t.Errorf("n=%d seed=%d: first/last entries %v, %v; OpenBLAS %v, %v", c.n, c.seed, x[0], x[len(x)-1], c.first, c.last)
		}
		if got := sha256F32(x); got != c.sha {
			t.Errorf("n=%d seed=%d: result differs from OpenBLAS's (SHA-256 %s)", c.n, c.seed, got)
		}
	}
}

// TestCholeskyInvertLAPACKNotPositiveDefinite checks that a matrix whose
// factorisation meets a non-positive pivot, in spotrf's unblocked part or
// in a later block, gives zeros, as cv::invert does when sposv fails.
func TestCholeskyInvertLAPACKNotPositiveDefinite(t *testing.T) {
	for _, pivot := range []int{0, 7, 90, 120} {
		n := 121
		a := spdExact(n, 3)
		for c := 0; c < n; c++ {
			a[pivot*n+c], a[c*n+pivot] = 0, 0
		}
		a[pivot*n+pivot] = -1
		for i, v := range CholeskyInvertLAPACK(a, n) {
			if v != 0 {
				t.Fatalf("pivot %d: entry %d is %v, want 0", pivot, i, v)
			}
		}
	}
}

func BenchmarkCholeskyInvertLAPACK(b *testing.B) {
	a := spdExact(121, 1)
	for b.Loop() {
		CholeskyInvertLAPACK(a, 121)
	}
}

// spdExact returns a symmetric positive definite n×n float32 matrix whose
// entries are computed exactly on every platform: (M·Mᵀ + n·I)/64 for an
// integer matrix M with entries in [−8, 8] drawn from a fixed xorshift
// sequence, so that recorded results of other libraries stay valid.
func spdExact(n int, seed uint64) []float32 {
	m := make([]int64, n*n)
	x := seed*0x9e3779b97f4a7c15 | 1
	for i := range m {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		m[i] = int64(x%17) - 8
	}
	a := make([]float32, n*n)
	for r := 0; r < n; r++ {
		for c := 0; c <= r; c++ {
			var s int64
			for k := 0; k < n; k++ {
				s += m[r*n+k] * m[c*n+k]
			}
			if r == c {
				s += int64(n)
			}
			a[r*n+c] = float32(s) / 64
			a[c*n+r] = a[r*n+c]
		}
	}
	return a
}

// sha256F32 is the SHA-256 of the little-endian bytes of v.
func sha256F32(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
