package ccnf

import (
	"context"
	"fmt"
	"image"
	"runtime"
	"sync"
	"sync/atomic"

	"facemirror/pipeline/pdm"
)

// Workspace holds the scratch memory of Response and ExpertResponse and
// decides how many goroutines Response uses. Results do not depend on the
// number of workers. A Workspace must not be used by concurrent calls;
// give each goroutine its own.
type Workspace struct {
	scratch []scratch
	imgPts  [][2]float32
	refPts  [][2]float32
	ref     []float32
	visible []int
}

// NewWorkspace returns a Workspace whose Response calls spread the
// landmarks over the given number of goroutines (GOMAXPROCS when
// workers < 1).
func NewWorkspace(workers int) *Workspace {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Workspace{scratch: make([]scratch, workers)}
}

// Responses is the result of Scale.Response for one scale and window size.
type Responses struct {
	// View is the view the experts were taken from (Scale.ViewIndex of the
	// rotation).
	View int
	// WindowSize is ws: every map is ws×ws.
	WindowSize int
	// Maps[i] is landmark i's response map, row-major (row = y), centred
	// on the landmark (cell (ws−1)/2 is the landmark itself, one cell per
	// reference-frame pixel). It is nil for landmarks invisible in View.
	Maps [][]float32
	// Landmarks are the image landmarks the maps were computed around
	// (PDM CalcShape2D of the parameters: x of every point, then y).
	Landmarks []float32
	// ImgToRef is the similarity (scale·rotation, no translation) from the
	// image shape to the reference shape at the expert's patch scaling;
	// RefToImg is its inverse (Matx22f::inv).
	ImgToRef, RefToImg pdm.Mat2

	block []float32
}

// Response computes the response maps of every visible landmark, as
// Patch_experts::Response does for one scale: the landmarks are the PDM
// shape of (g, local) in the image; the reference shape is the same
// non-rigid shape at scale PatchScaling with no rotation or translation;
// the image-to-reference similarity is AlignShapesWithScale over all
// points (visible or not), and each landmark's area of interest is sampled
// with the reference-to-image similarity around it (AreaOfInterest) and
// fed to its expert (ExpertResponse).
//
// img is the 8-bit grey frame (coordinates relative to img.Rect.Min). dst
// is filled and its memory reused across calls. w may be nil (one
// goroutine, fresh scratch).
func (s *Scale) Response(ctx context.Context, img *image.Gray, md *pdm.Model, g pdm.Global, local []float32, ws int, w *Workspace, dst *Responses) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkImage(img); err != nil {
		return err
	}
	if ws < 1 || ws > 64 {
		return fmt.Errorf("ccnf: window size %d out of range", ws)
	}
	n := s.NumPoints()
	if md.NumPoints() != n {
		return fmt.Errorf("ccnf: the PDM has %d points, the patch experts %d", md.NumPoints(), n)
	}
	if w == nil {
		w = NewWorkspace(1)
	}
	var err error
	if dst.Landmarks, err = md.Shape2D(g, local, dst.Landmarks); err != nil {
		return fmt.Errorf("ccnf: landmarks: %w", err)
	}
	if w.ref, err = md.Shape2D(pdm.Global{Scale: float32(s.PatchScaling)}, local, w.ref); err != nil {
		return fmt.Errorf("ccnf: reference shape: %w", err)
	}
	w.imgPts, w.refPts = points(w.imgPts, dst.Landmarks), points(w.refPts, w.ref)
	if dst.ImgToRef, err = pdm.AlignShapesWithScale(w.imgPts, w.refPts); err != nil {
		return fmt.Errorf("ccnf: similarity: %w", err)
	}
	dst.RefToImg = invert2(dst.ImgToRef)
	dst.View = s.ViewIndex(g.Rotation())
	dst.WindowSize = ws

	view := dst.View
	comps := s.components(ws)
	w.visible = w.visible[:0]
	for i := 0; i < n; i++ {
		if s.Visibility[view][i] {
			if s.Experts[view][i].Empty() {
				return fmt.Errorf("ccnf: landmark %d is marked visible in view %d but its expert is empty", i, view)
			}
			w.visible = append(w.visible, i)
		}
	}
	if len(dst.Maps) != n {
		dst.Maps = make([][]float32, n)
	}
	dst.block = growF(dst.block, n*ws*ws)
	for i := range dst.Maps {
		dst.Maps[i] = nil
	}
	sigmas := make([][]float32, n)
	for _, i := range w.visible {
		sigmas[i] = s.sigma(view, i, ws, comps)
	}

	a1, b1 := dst.RefToImg[0][0], -dst.RefToImg[0][1]
	one := func(sc *scratch, i int) {
		e := s.Experts[view][i]
		aw, ah := ws+e.Width-1, ws+e.Height-1
		sc.aoi = AreaOfInterest(img, dst.Landmarks[i], dst.Landmarks[i+n], a1, b1, aw, ah, sc.aoi)
		out := dst.block[i*ws*ws : (i+1)*ws*ws]
		expertResponse(e, sigmas[i], sc.aoi, aw, ah, out, sc)
		dst.Maps[i] = out
	}
	workers := len(w.scratch)
	if workers > len(w.visible) {
		workers = len(w.visible)
	}
	if workers <= 1 {
		for _, i := range w.visible {
			one(&w.scratch[0], i)
		}
		return ctx.Err()
	}
	var next atomic.Int64
	work := func(sc *scratch) {
		for {
			j := int(next.Add(1)) - 1
			if j >= len(w.visible) || ctx.Err() != nil {
				return
			}
			one(sc, w.visible[j])
		}
	}
	// The calling goroutine is one of the workers: a frame makes several
	// of these calls, and parking the caller for each would hand its
	// thread to the scheduler and back.
	var wg sync.WaitGroup
	for k := 1; k < workers; k++ {
		wg.Go(func() { work(&w.scratch[k]) })
	}
	work(&w.scratch[0])
	wg.Wait()
	return ctx.Err()
}

// checkImage rejects images whose pixel slice does not cover their
// rectangle.
func checkImage(img *image.Gray) error {
	if img == nil {
		return fmt.Errorf("ccnf: nil image")
	}
	wd, ht := img.Rect.Dx(), img.Rect.Dy()
	if wd <= 0 || ht <= 0 {
		return fmt.Errorf("ccnf: empty image %v", img.Rect)
	}
	if img.Stride < wd || len(img.Pix) < (ht-1)*img.Stride+wd {
		return fmt.Errorf("ccnf: image %v with stride %d has only %d pixels", img.Rect, img.Stride, len(img.Pix))
	}
	return nil
}

// points turns a 2n shape (x block, y block) into n (x, y) pairs.
func points(dst [][2]float32, shape []float32) [][2]float32 {
	n := len(shape) / 2
	if cap(dst) < n {
		dst = make([][2]float32, n)
	}
	dst = dst[:n]
	for i := range dst {
		dst[i] = [2]float32{shape[i], shape[i+n]}
	}
	return dst
}

// invert2 is Matx22f::inv(): float determinant, its float reciprocal, and
// zeros for a singular matrix.
func invert2(a pdm.Mat2) pdm.Mat2 {
	d := float32(a[0][0]*a[1][1]) - float32(a[0][1]*a[1][0])
	if d == 0 {
		return pdm.Mat2{}
	}
	d = 1 / d
	return pdm.Mat2{{a[1][1] * d, -a[0][1] * d}, {-a[1][0] * d, a[0][0] * d}}
}
