//go:build amd64

package ccnf

import "golang.org/x/sys/cpu"

// simd tells whether the CPU has AVX2 and FMA3 for the assembly kernels.
// They run the portable code's float32 operations lane by lane (a vector
// add, subtract, multiply or divide rounds each lane exactly like its
// scalar form, a hardware FMA rounds once like exactmath.FMA32, and the
// double square root and division of recipNorm are the same IEEE
// operations), so they give its results bit for bit. It is set once at
// start-up.
var simd = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// patchStats computes, for the statBlock positions whose pixels are
// loaded from x (pixel (xx, yy) of the i-th position at byte offset
// yy·bstride + xx·xstride + 4i), the patch means mean[i] (sum in
// row-major order, divided by inv) and the reciprocal norms scale[i]
// (squared deviations summed in column-major order, then recipNorm), as
// patchStatsGo does.
//
//go:noescape
func patchStats(x *float32, bstride, xstride uintptr, pw, ph int, inv float32, mean, scale *float32)

// neuronPanel computes, for the eight positions whose pixels are loaded
// from x (as in patchStats) with means and reciprocal norms at mean and
// scale, and for the eight neurons of the panel w (weight c of neuron j
// at w[c·8+j], c < 1+pw·ph), the float32 FMA chains out[j·8+i] = Σ_c
// w_j[c]·im2col_i[c], c ascending from 0, where im2col_i is 1 and then
// the patch column-major, each pixel v as (v − mean)·scale.
//
//go:noescape
func neuronPanel(x *float32, bstride, xstride uintptr, pw, ph int, mean, scale, w *float32, out *[64]float32)

// patchStatsFast is patchStatsGo over pp positions (a multiple of
// statBlock), through patchStats when the CPU allows.
func patchStatsFast(bands []float32, bs, ws, pw, ph, pp int, mean, scale []float32) {
	// The last block's loads reach band ph−1 at pp−1 + (pw−1)·ws.
	if !simd || pp%statBlock != 0 || len(mean) < pp || len(scale) < pp || len(bands) < (ph-1)*bs+(pw-1)*ws+pp {
		patchStatsGo(bands, bs, ws, pw, ph, pp, mean, scale)
		return
	}
	inv := float32(pw * ph)
	for q := 0; q < pp; q += statBlock {
		patchStats(&bands[q], uintptr(bs*4), uintptr(ws*4), pw, ph, inv, &mean[q], &scale[q])
	}
}

// neuronChainsFast is neuronChainsGo through neuronPanel, eight positions
// by eight neurons per call, when the CPU allows.
func neuronChainsFast(e *Expert, sc *scratch, bs, ws, p, chainEnd int) {
	pw, ph := e.Width, e.Height
	k := 1 + pw*ph
	nn := len(e.Neurons)
	end8 := (chainEnd + 7) &^ 7
	bands, mean, scale, z := sc.bands, sc.mean, sc.scale, sc.z
	if !simd || len(bands) < (ph-1)*bs+(pw-1)*ws+end8 || len(mean) < end8 || len(scale) < end8 || len(e.panel) < (nn+7)/8*k*8 || len(z) < nn*p {
		neuronChainsGo(e, sc, bs, ws, p, chainEnd)
		return
	}
	var out [64]float32
	for g := 0; g*8 < nn; g++ {
		w := e.panel[g*k*8 : (g+1)*k*8]
		rows := min(8, nn-g*8)
		for q := 0; q < chainEnd; q += 8 {
			neuronPanel(&bands[q], uintptr(bs*4), uintptr(ws*4), pw, ph, &mean[q], &scale[q], &w[0], &out)
			n := min(8, chainEnd-q)
			for j := 0; j < rows; j++ {
				copy(z[(g*8+j)*p+q:][:n], out[j*8:j*8+n])
			}
		}
	}
}

// sigmoidAcc sets resp[i] = float32(float64(resp[i]) + a2/(1 +
// exp(float64(−z[i])))) for i < n (n a multiple of 4), four at a time, with
// exp computed by the instructions of math.Exp's amd64 kernel (its FMA
// path, which math.Exp takes on every CPU this kernel runs on) for the
// arguments where that kernel takes its main path (|x| ≤ 700, where
// neither overflow nor subnormal results arise). It stops before the first
// group of four with an argument outside that range and returns how many
// values it did.
//
//go:noescape
func sigmoidAcc(resp, z *float32, n int, a2 float64) int

// addSigmoidsFast is addSigmoidsGo through sigmoidAcc when the CPU
// allows, math.Exp itself taking the groups the kernel leaves.
func addSigmoidsFast(resp, z []float32, a2 float64) {
	if !simd {
		addSigmoidsGo(resp, z, a2)
		return
	}
	n := len(z)
	resp = resp[:n]
	for i := 0; i < n; {
		if n-i >= 4 {
			i += sigmoidAcc(&resp[i], &z[i], (n-i)&^3, a2)
		}
		end := min(i+4, n)
		addSigmoidsGo(resp[i:end], z[i:end], a2)
		i = end
	}
}

// spreadRuns copies the runs of spreadBands: for every band yy < ph and
// area column x < aw, the ws values at aoiT[x·ah+yy:] to
// bands[yy·bs+x·ws:], in blocks of eight, columns in ascending order.
//
//go:noescape
func spreadRuns(bands, aoiT *float32, ph, aw, ws, bs, ah int)

// warpRow computes warpPixel for the first n pixels (n a multiple of 8)
// of a destination row, eight at a time: pixel u has the fixed-point
// coordinates x0 + adelta[u], y0 + bdelta[u] (32-bit sums), taps at byte
// offset sy·stride + sx of pix. It stops before the first group of eight
// with a pixel whose four taps are not all inside the sw×sh image or
// whose offset exceeds maxOff (its four-byte loads would leave pix), and
// returns how many pixels it did.
//
//go:noescape
func warpRow(dst *float32, pix *byte, adelta, bdelta *int32, x0, y0, n, stride, sw, sh, maxOff int) int
