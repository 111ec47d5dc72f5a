package au

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
)

// Offline holds the per-frame AU values OpenFace writes to its CSV after
// the whole video was processed (PostprocessOutputFile). Every slice has
// one row per frame added, in Predictors column order.
type Offline struct {
	// Intensity and Occurrence are the final values: what the CSV's _r and
	// _c columns hold before their rounding to 2 decimals.
	Intensity  [][]float64
	Occurrence [][]float64
	// RepredictedIntensity and RepredictedOccurrence are the raw per-frame
	// histories after the re-prediction with the final medians, before
	// offsets, clamping and smoothing (zero on failed frames).
	RepredictedIntensity  [][]float64
	RepredictedOccurrence [][]float64
	// Offsets holds the person-specific offset subtracted from each
	// intensity AU (zero for static AUs).
	Offsets []float64
}

// Smoothing windows of ExtractAllPredictionsOfflineReg/Class.
const (
	intensityWindow  = 3
	occurrenceWindow = 7
)

// Postprocess computes the offline AU values from the frames added so far,
// as FeatureExtraction does at the end of a video:
//   - the first MaxRepredicted successful frames are predicted again with
//     the final running medians;
//   - each dynamic intensity AU with a cutoff is shifted down by its value
//     at position ⌊n·cutoff⌋ of the sorted values of the n successful
//     frames;
//   - intensities of successful frames are clamped to [0, 5], failed frames
//     are 0, then every frame but the first and last becomes the mean of
//     itself and its two neighbours;
//   - occurrences of frames 3 … n−4 become 1 when the mean over the 7
//     frames around them is at least 0.5, else 0.
//
// Like OpenFace, the smoothing also runs over failed frames, so a failed
// frame between non-zero frames gets a non-zero value. The Analyser is not
// changed; Postprocess can be called again after more frames are added.
func (a *Analyser) Postprocess(ctx context.Context) (*Offline, error) {
	n, width := len(a.success), a.nI+a.nO
	hist := append([]float64(nil), a.online...)

	if err := a.repredict(ctx, hist, width); err != nil {
		return nil, fmt.Errorf("au: post-processing: %w", err)
	}

	res := &Offline{
		RepredictedIntensity:  rows(hist, n, width, 0, a.nI),
		RepredictedOccurrence: rows(hist, n, width, a.nI, width),
	}

	res.Offsets = finalise(hist, width, a.success, a.pred.Intensity)
	res.Intensity = rows(hist, n, width, 0, a.nI)
	res.Occurrence = rows(hist, n, width, a.nI, width)
	return res, nil
}

// repredict overwrites the history rows of the kept frames with their
// predictions under the final medians. Frames are independent, so they
// are split into contiguous runs, one per CPU, each scored two frames at a
// time; the values do not depend on the split.
func (a *Analyser) repredict(ctx context.Context, hist []float64, width int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	kept := len(a.keptFrame)
	workers := max(1, min(runtime.GOMAXPROCS(0), kept/128))
	per := ((kept+workers-1)/workers + 1) &^ 1
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := min(w*per, kept), min((w+1)*per, kept)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = a.repredictRange(ctx, hist, width, lo, hi)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (a *Analyser) repredictRange(ctx context.Context, hist []float64, width, lo, hi int) error {
	xs := [][]float64{make([]float64, FeatureLen), make([]float64, FeatureLen)}
	out := [][]float64{make([]float64, width), make([]float64, width)}
	scratch := a.scorer.newScratch()
	modes := a.geom.modes
	for k := lo; k < hi; k += 2 {
		if (k-lo)%128 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		nf := min(2, hi-k)
		for f := 0; f < nf; f++ {
			x := xs[f]
			for i, v := range a.keptHOG[(k+f)*HOGLen : (k+f+1)*HOGLen] {
				x[i] = float64(v)
			}
			a.geom.fill(x[HOGLen:], a.keptLocal[(k+f)*modes:(k+f+1)*modes])
		}
		a.scorer.score(out[:nf], xs[:nf], a.med, scratch)
		for f := 0; f < nf; f++ {
			fr := a.keptFrame[k+f]
			a.classify(hist[fr*width:(fr+1)*width], out[f])
		}
	}
	return nil
}

// finalise turns the per-frame histories hist (rows of width values:
// intensities in the order of intensity, then occurrences) into the final
// offline values in place, and returns the intensity offsets.
func finalise(hist []float64, width int, success []bool, intensity []Predictor) []float64 {
	n, nI := len(success), len(intensity)
	offsets := make([]float64, nI)
	vals := make([]float64, 0, n)
	tmp := make([]float64, n)
	for j, pr := range intensity {
		if pr.Dynamic && pr.Cutoff != NoCutoff {
			vals = vals[:0]
			for fr := 0; fr < n; fr++ {
				if success[fr] {
					vals = append(vals, hist[fr*width+j])
				}
			}
			if len(vals) > 0 {
				sort.Float64s(vals)
				offsets[j] = vals[int(float64(len(vals))*pr.Cutoff)]
			}
		}
		for fr := 0; fr < n; fr++ {
			v := 0.0
			if success[fr] {
				v = hist[fr*width+j] - offsets[j]
				if v < 0 {
					v = 0
				}
				if v > 5 {
					v = 5
				}
			}
			tmp[fr] = v
		}
		smoothMean(hist, width, j, tmp, intensityWindow, false)
	}
	for j := nI; j < width; j++ {
		for fr := 0; fr < n; fr++ {
			tmp[fr] = hist[fr*width+j]
		}
		smoothMean(hist, width, j, tmp, occurrenceWindow, true)
	}
	return offsets
}

// smoothMean writes column col of hist (rows of width values): the values
// tmp, each frame with a full window replaced by the window's mean, or for
// threshold by 1 when that mean is at least 0.5 and 0 otherwise. Frames
// without a full window keep their value.
func smoothMean(hist []float64, width, col int, tmp []float64, window int, threshold bool) {
	half := (window - 1) / 2
	n := len(tmp)
	for fr := 0; fr < n; fr++ {
		v := tmp[fr]
		if fr >= half && fr < n-half {
			var sum float64
			for w := -half; w <= half; w++ {
				sum += tmp[fr+w]
			}
			v = sum / float64(window)
			if threshold {
				if v < 0.5 {
					v = 0
				} else {
					v = 1
				}
			}
		}
		hist[fr*width+col] = v
	}
}

// rows returns columns lo..hi of the n rows of width values in flat as one
// slice per row, sharing a fresh backing array.
func rows(flat []float64, n, width, lo, hi int) [][]float64 {
	k := hi - lo
	data := make([]float64, n*k)
	out := make([][]float64, n)
	for fr := 0; fr < n; fr++ {
		row := data[fr*k : (fr+1)*k : (fr+1)*k]
		copy(row, flat[fr*width+lo:fr*width+hi])
		out[fr] = row
	}
	return out
}
