package ccnf

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"
)

// TestSigmaWindow11MatchesOpenBLAS computes the 121×121 Sigma of every
// visible expert of the 0.25 scale (views in order, landmarks in order)
// and compares the SHA-256 of all of them, each row-major in
// little-endian bytes, with what OpenFace's inversion gave on the
// reference stack: OpenCV 4.6's cv::invert(…, DECOMP_CHOLESKY) calling
// sposv of OpenBLAS 0.3.21 (Debian 12's build, one thread, Cooperlake and
// SkylakeX kernels alike) on this package's SigmaInv.
func TestSigmaWindow11MatchesOpenBLAS(t *testing.T) {
	const (
		want    = "eabb426c400e7bde8e0e5530207fc192cc40c111bd29418ff3ddc72486775acb"
		experts = 410
	)
	s := loadScale(t, general025)
	comps := s.components(11)
	h := sha256.New()
	buf := make([]byte, 4*121*121)
	count := 0
	for v := 0; v < s.NumViews(); v++ {
		for i := 0; i < s.NumPoints(); i++ {
			if !s.Visible(v, i) {
				continue
			}
			for k, f := range computeSigma(s.Experts[v][i], 11, comps) {
				binary.LittleEndian.PutUint32(buf[4*k:], math.Float32bits(f))
			}
			h.Write(buf)
			count++
		}
	}
	if count != experts {
		t.Fatalf("%d visible experts, want %d", count, experts)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("window-11 Sigmas differ from OpenBLAS's (SHA-256 %s)", got)
	}
}
