//go:build !amd64

package ccnf

import "unsafe"

// simd tells whether the assembly kernels are in use (only on amd64).
const simd = false

// patchStatsFast is patchStatsGo over all pp positions.
func patchStatsFast(bands []float32, bs, ws, pw, ph, pp int, mean, scale []float32) {
	patchStatsGo(bands, bs, ws, pw, ph, pp, mean, scale)
}

// neuronChainsFast is neuronChainsGo.
func neuronChainsFast(e *Expert, sc *scratch, bs, ws, p, chainEnd int) {
	neuronChainsGo(e, sc, bs, ws, p, chainEnd)
}

// addSigmoidsFast is addSigmoidsGo.
func addSigmoidsFast(resp, z []float32, a2 float64) {
	addSigmoidsGo(resp, z, a2)
}

// spreadRuns is the loop of spreadBands that the amd64 kernel does in
// blocks of eight (it is only called with simd, so this is for
// completeness): for every band yy < ph and area column x < aw, the ws
// values at aoiT[x·ah+yy:] go to bands[yy·bs+x·ws:].
func spreadRuns(bands, aoiT *float32, ph, aw, ws, bs, ah int) {
	b := unsafe.Slice(bands, ph*bs)
	a := unsafe.Slice(aoiT, aw*ah+ph+ws)
	for yy := 0; yy < ph; yy++ {
		for x := 0; x < aw; x++ {
			copy(b[yy*bs+x*ws:yy*bs+x*ws+ws], a[x*ah+yy:])
		}
	}
}

// warpRow computes no pixel without the assembly kernel: it reports 0
// done, and the caller samples every pixel itself.
func warpRow(dst *float32, pix *byte, adelta, bdelta *int32, x0, y0, n, stride, sw, sh, maxOff int) int {
	return 0
}
