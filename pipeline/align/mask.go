package align

import "math"

// halfPlane is one of PAW::pointInTriangle's three same-side tests: the
// line through (ox, oy) with direction (dx, dy), and the cross product side
// of the triangle's third vertex. The terms that depend only on the
// triangle are computed once, with the same float32 operations PAW uses.
type halfPlane struct{ ox, oy, dx, dy, side float32 }

// newHalfPlane prepares PAW::sameSide(·, ·, x1, y1, x2, y2, x3, y3).
func newHalfPlane(x1, y1, x2, y2, x3, y3 float32) halfPlane {
	dx, dy := x3-x2, y3-y2
	return halfPlane{ox: x2, oy: y2, dx: dx, dy: dy, side: float32(dx*(y1-y2)) - float32((x1-x2)*dy)}
}

// holds is PAW::sameSide: boundary points count as inside.
func (h *halfPlane) holds(x, y float32) bool {
	v := float32(h.dx*(y-h.oy)) - float32((x-h.ox)*h.dy)
	return v*h.side >= 0
}

// tri is a triangle as PAW tests it: three half-planes and a bounding box.
type tri struct {
	e                      [3]halfPlane
	minX, maxX, minY, maxY float32
}

func (t *tri) contains(x, y float32) bool {
	return t.e[0].holds(x, y) && t.e[1].holds(x, y) && t.e[2].holds(x, y)
}

// rasterMask returns the size×size mask (row-major, 1 = face) of the
// pixels that OpenFace's PAW constructor (min 0, max size−1) assigns to a
// triangle. PAW scans the pixels row by row; for each it first retries the
// previous pixel's triangle (without a bounding-box test), then searches
// all triangles in order, skipping those whose bounding box excludes the
// pixel. The same scan is replayed here, with each row's search limited to
// the triangles whose vertical extent covers the row (kept in order).
func rasterMask(pts [][2]float32, tris []Triangle, size int) []uint8 {
	ts := make([]tri, len(tris))
	rowCount := make([]int, size+1)
	for i, t := range tris {
		a, b, c := pts[t[0]], pts[t[1]], pts[t[2]]
		ts[i] = tri{
			e: [3]halfPlane{
				newHalfPlane(a[0], a[1], b[0], b[1], c[0], c[1]),
				newHalfPlane(b[0], b[1], a[0], a[1], c[0], c[1]),
				newHalfPlane(c[0], c[1], a[0], a[1], b[0], b[1]),
			},
			minX: min(a[0], b[0], c[0]), maxX: max(a[0], b[0], c[0]),
			minY: min(a[1], b[1], c[1]), maxY: max(a[1], b[1], c[1]),
		}
		if y0, y1, ok := rowSpan(&ts[i], size); ok {
			for y := y0; y <= y1; y++ {
				rowCount[y+1]++
			}
		}
	}
	// Per-row candidate lists in triangle order, in one flat slice.
	for y := 1; y <= size; y++ {
		rowCount[y] += rowCount[y-1]
	}
	cand := make([]int32, rowCount[size])
	fill := append([]int(nil), rowCount[:size]...)
	for i := range ts {
		if y0, y1, ok := rowSpan(&ts[i], size); ok {
			for y := y0; y <= y1; y++ {
				cand[fill[y]] = int32(i)
				fill[y]++
			}
		}
	}
	mask := make([]uint8, size*size)
	cur := int32(-1)
	// For the current triangle, the row-constant terms dx·(y−oy) of its
	// three tests, so that the per-pixel retry costs one product per test.
	var rowTerm [3]float32
	setCur := func(c int32, fy float32) {
		cur = c
		if c >= 0 {
			for k := range rowTerm {
				h := &ts[c].e[k]
				rowTerm[k] = h.dx * (fy - h.oy)
			}
		}
	}
	for y := 0; y < size; y++ {
		fy := float32(y)
		setCur(cur, fy)
		row := cand[rowCount[y]:rowCount[y+1]]
		// The row's candidates together span [lo, hi]; pixels outside it
		// find no triangle.
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, c := range row {
			lo, hi = min(lo, ts[c].minX), max(hi, ts[c].maxX)
		}
		for x := 0; x < size; x++ {
			fx := float32(x)
			if cur >= 0 {
				e := &ts[cur].e
				if (rowTerm[0]-float32((fx-e[0].ox)*e[0].dy))*e[0].side >= 0 &&
					(rowTerm[1]-float32((fx-e[1].ox)*e[1].dy))*e[1].side >= 0 &&
					(rowTerm[2]-float32((fx-e[2].ox)*e[2].dy))*e[2].side >= 0 {
					mask[y*size+x] = 1
					continue
				}
			}
			cur = -1
			if fx < lo || fx > hi {
				continue
			}
			for _, c := range row {
				t := &ts[c]
				if t.maxX < fx || t.minX > fx {
					continue
				}
				if t.contains(fx, fy) {
					setCur(c, fy)
					mask[y*size+x] = 1
					break
				}
			}
		}
	}
	return mask
}

// rowSpan returns the image rows inside the triangle's closed vertical
// extent.
func rowSpan(t *tri, size int) (y0, y1 int, ok bool) {
	lo := math.Max(0, math.Ceil(float64(t.minY)))
	hi := math.Min(float64(size-1), math.Floor(float64(t.maxY)))
	if !(lo <= hi) {
		return 0, 0, false
	}
	return int(lo), int(hi), true
}
