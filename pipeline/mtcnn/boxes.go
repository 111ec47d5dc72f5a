package mtcnn

import (
	"math"
	"sort"
)

// Rect is a box in image pixels with float32 fields, like OpenCV's
// Rect_<float>: (X, Y) is the top-left corner.
type Rect struct{ X, Y, W, H float32 }

// candidate is one proposal travelling through the cascade: its box, the
// score of the stage that produced it and that stage's box regression
// (dx1, dy1, dx2, dy2 as fractions of the box size).
type candidate struct {
	box   Rect
	score float32
	reg   [4]float32
}

// intRect is OpenCV's integer cv::Rect.
type intRect struct{ x, y, w, h int }

// cvRound converts like saturate_cast<int>(float) on x86-64: round half to
// even, and the "integer indefinite" value for NaN and out-of-range input.
func cvRound(v float32) int {
	f := math.RoundToEven(float64(v))
	if f != f || f < math.MinInt32 || f > math.MaxInt32 {
		return math.MinInt32
	}
	return int(f)
}

// cTrunc converts like a C (int) cast of a float on x86-64: truncation
// toward zero, and the "integer indefinite" value for NaN and out-of-range
// input (Go leaves that case implementation-defined).
func cTrunc(v float64) int {
	f := math.Trunc(v)
	if f != f || f < math.MinInt32 || f > math.MaxInt32 {
		return math.MinInt32
	}
	return int(f)
}

// toIntRect is the Rect_<float> -> Rect conversion: each field rounded on
// its own, so width and height are not derived from the rounded corners.
func toIntRect(r Rect) intRect {
	return intRect{cvRound(r.X), cvRound(r.Y), cvRound(r.W), cvRound(r.H)}
}

func (r intRect) area() int { return r.w * r.h }

func (r intRect) empty() bool { return r.w <= 0 || r.h <= 0 }

// intersect is cv::Rect's operator&: an empty rectangle when either input is
// empty or they do not overlap.
func intersect(a, b intRect) intRect {
	if a.empty() || b.empty() {
		return intRect{}
	}
	x1, y1 := max(a.x, b.x), max(a.y, b.y)
	x2, y2 := min(a.x+a.w, b.x+b.w), min(a.y+a.h, b.y+b.h)
	r := intRect{x1, y1, x2 - x1, y2 - y1}
	if r.empty() {
		return intRect{}
	}
	return r
}

// nms is OpenFace's non_maximum_supression. Candidates are visited in
// descending score; among equal scores the later index goes first, which
// is where std::multimap puts the last inserted equal key. Overlap is
// measured on the integer-rounded boxes, against the union or (minimum) the
// smaller area, and a box goes when the overlap is strictly above thresh.
// It returns the kept indices in visiting order.
func nms(cands []candidate, thresh float32, minimum bool) []int {
	n := len(cands)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return cands[order[a]].score < cands[order[b]].score })

	rects := make([]intRect, n)
	for i, c := range cands {
		rects[i] = toIntRect(c.box)
	}
	removed := make([]bool, n)
	keep := make([]int, 0, n)
	for k := n - 1; k >= 0; k-- {
		cur := order[k]
		if removed[cur] {
			continue
		}
		r1 := rects[cur]
		for _, id := range order[:k] {
			if removed[id] {
				continue
			}
			r2 := rects[id]
			inter := float32(intersect(r1, r2).area())
			var denom float32
			if minimum {
				denom = float32(min(r1.area(), r2.area()))
			} else {
				denom = float32(r1.area()+r2.area()) - inter
			}
			if inter/denom > thresh {
				removed[id] = true
			}
		}
		keep = append(keep, cur)
	}
	return keep
}

// subset returns the candidates at the given indices, in that order.
func subset(cands []candidate, idx []int) []candidate {
	out := make([]candidate, len(idx))
	for i, k := range idx {
		out[i] = cands[k]
	}
	return out
}

// applyCorrection moves each box by its regression (OpenFace's
// apply_correction). The box is first rounded to an integer Rect; add1 (the
// ONet stage) then grows it by one pixel in width and height. The
// arithmetic is float32 in the C++ evaluation order; the explicit
// conversions keep Go from fusing multiply-adds.
func applyCorrection(cands []candidate, add1 bool) {
	for i := range cands {
		r := toIntRect(cands[i].box)
		if add1 {
			r.w++
			r.h++
		}
		g := cands[i].reg
		fw, fh := float32(r.w), float32(r.h)
		x1 := float32(r.x) + float32(g[0]*fw)
		y1 := float32(r.y) + float32(g[1]*fh)
		x2 := float32(r.x+r.w) + float32(fw*g[2])
		y2 := float32(r.y+r.h) + float32(fh*g[3])
		cands[i].box = Rect{X: x1, Y: y1, W: x2 - x1, H: y2 - y1}
	}
}

// rectify makes each box square around its centre with side max(w, h).
// The shifted corner is computed in double (C++ promotes the 0.5 literal),
// stored as float, then truncated toward zero like the side.
func rectify(cands []candidate) {
	for i := range cands {
		b := cands[i].box
		side := b.W
		if b.W < b.H {
			side = b.H
		}
		nx := float32(float64(b.X) + float64(0.5*float64(b.W-side)))
		ny := float32(float64(b.Y) + float64(0.5*float64(b.H-side)))
		s := float32(cTrunc(float64(side)))
		cands[i].box = Rect{X: float32(cTrunc(float64(nx))), Y: float32(cTrunc(float64(ny))), W: s, H: s}
	}
}

// finalCorrection is the fixed adjustment at the end of DetectFaces that
// tightens the ONet box around the 68 landmarks CLNF expects. Each field is
// evaluated in double from the float fields (the constants are double
// literals) and stored as float; x and y use the width and height from
// before the scaling.
func finalCorrection(r Rect) Rect {
	return Rect{
		X: float32(float64(float64(r.W)*-0.0075) + float64(r.X)),
		Y: float32(float64(float64(r.H)*0.2459) + float64(r.Y)),
		W: float32(1.0323 * float64(r.W)),
		H: float32(0.7751 * float64(r.H)),
	}
}

// generateBoxes turns a PNet probability map (row-major, mapH×mapW) into
// proposals in image coordinates (OpenFace's generate_bounding_boxes).
// Cells are scanned column by column, which fixes the proposal order the
// NMS tie rule depends on. Each cell stands for a 12×12 window at stride 2
// in the pyramid level; the corners are divided by the float-narrowed
// scale and truncated. reg holds the four regression maps back to back.
func generateBoxes(prob []float32, reg []float32, mapW, mapH int, scale float32, thresh float32) []candidate {
	const stride, support = 2, 12
	plane := mapW * mapH
	var out []candidate
	for x := 0; x < mapW; x++ {
		for y := 0; y < mapH; y++ {
			i := y*mapW + x
			p := prob[i]
			if !(p >= thresh) {
				continue
			}
			minX := float32(cTrunc(float64(float32(stride*x+1) / scale)))
			maxX := float32(cTrunc(float64(float32(stride*x+support) / scale)))
			minY := float32(cTrunc(float64(float32(stride*y+1) / scale)))
			maxY := float32(cTrunc(float64(float32(stride*y+support) / scale)))
			out = append(out, candidate{
				box:   Rect{X: minX, Y: minY, W: maxX - minX, H: maxY - minY},
				score: p,
				reg:   [4]float32{reg[i], reg[plane+i], reg[2*plane+i], reg[3*plane+i]},
			})
		}
	}
	return out
}

// scoreFromLogits is the RNet/ONet face probability: the logit difference
// in float, expf of it (C++'s cv::exp(float) is std::exp(float)), and the
// rest in double stored as float.
func scoreFromLogits(nonFace, face float32) float32 {
	e := float32(math.Exp(float64(nonFace - face)))
	return float32(1.0 / (1.0 + float64(e)))
}
