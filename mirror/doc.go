// Package mirror makes FaceMirror's mirrored pictures: the facial midline
// of each frame from OpenFace's 68 landmarks, its smoothing over the whole
// track, the reflection of one half of the face onto the other, and the
// debug frame. It is pure Go on plain BGR buffers, so that every step can be
// tested on synthetic frames.
//
// # Conventions
//
// Coordinates are pixels of the upright frame with pixel (x, y)'s centre at
// (x, y), as OpenFace writes its landmarks. The midline (Line) runs from the
// glabella, the midpoint of landmarks 21 and 22 (the inner ends of the
// brows), to the chin, landmark 8.
//
// With d = unit(Chin − Glabella) and n = (−d.Y, d.X), a pixel p lies at the
// signed distance s = (p − Glabella)·n from the midline. Pixels with s >= 0
// are the patient's anatomical right: for an upright face looking at the
// camera, d ≈ (0, 1) and n ≈ (−1, 0), so s >= 0 is the image's left, where
// a camera sees the patient's right. Side names the patient's half a
// mirrored picture keeps, never the image's.
//
// # Reflection
//
// A pixel p's reflection is read at q = p − 2·s·n, sampled bilinearly from
// the source with coordinates clamped to the frame (edge pixels replicate).
// Mirror(keep=Right) keeps s >= 0 as it is and fills s < 0 with the
// reflection; keep=Left the opposite. The two halves meet exactly on the
// midline (there q = p), but the crease where the picture folds is blended
// away across the midline, by s and not along image rows (which would smear
// a tilted midline): the output is A·original + (1 − A)·reflection with
// A = clamp(1/2 + s/BlendWidth, 0, 1) for keep=Right and 1 minus that for
// keep=Left, so A = 1/2 on the midline, 1 (the original) from
// s = +BlendWidth/2 on the kept side and 0 (the reflection) from
// BlendWidth/2 on the other side.
//
// BlendWidth is 8 px, against the predecessor's 6: wide enough to soften
// the crease at 1080p, narrow enough (about 5% of a face's width at 360p)
// not to blur the midline's own features, and a power of two so that the
// weight is exact shift arithmetic (1/256 per 1/32 px).
//
// # Fixed point, and why
//
// The mirrored videos are a clinical record that must come out the same on
// every machine, and float code can differ between platforms (Go may fuse
// a*b+c into one FMA on arm64 but not on amd64). So the reflection is
// integer arithmetic once its coefficients are known:
//
//   - s and q are affine in (x, y). Their six coefficients are computed in
//     float64 with every product explicitly rounded (no FMA can form), then
//     rounded to nearest in units of 2^-32 px; a row is then walked by
//     integer additions, which give exactly the direct evaluation.
//   - The sampling position is q rounded half up to 1/256 px and clamped to
//     [0, width−1] × [0, height−1]; its fractions fx, fy in 1/256 weight the
//     four surrounding pixels by (256−fx)(256−fy), fx(256−fy), (256−fx)fy
//     and fx·fy. The weighted sum S (units of 2^-16) is exact.
//   - A is quantised to a/256 with a = clamp(128 + ⌊32·s + 1/2⌋, 0, 256)
//     (s in its 2^-32 px fixed point, so the rounding is exact) for
//     keep=Right and 256 − that for keep=Left.
//   - The output byte is rounded once, half up:
//     ⌊(a·original·2^16 + (256 − a)·S + 2^23) / 2^24⌋. Outside the band this
//     is the original byte, or the reflection ⌊(S + 2^15) / 2^16⌋.
//
// The smoothing is float64 with the same explicit rounding of products, so
// it too gives the same bytes everywhere.
//
// MirrorBoth writes both pictures in one pass over the source and gives the
// bytes of the two Mirror calls. Only the reflected half of each picture
// needs sampling: the kept half is copied row segment by row segment, the
// band's extent in each row comes from the line equation, and the source
// position is stepped along the row.
//
// # Smoothing
//
// A midline fitted frame by frame jitters, and any jitter of its angle
// swings the whole reflected half. Smooth therefore smooths it over the
// whole track, which is known in advance, so the filter can look both ways
// (zero phase) and needs no lag:
//
//   - Frames without a fit first take the midline interpolated linearly
//     between the nearest fitted frames before and after (the first or last
//     fitted midline at the ends), so that failed frames never pull the
//     smoothed line.
//   - The glabella's and the chin's x and y are then smoothed by an
//     adaptive local-linear smoother. Every window of 7 and every window of
//     21 consecutive frames (the whole track if shorter) fits a
//     least-squares straight line in time to each of the four coordinates,
//     and each frame takes the weighted mean of the values at that frame of
//     all windows that contain it. A window's weight is
//     1 / ((m + 10^-4 px²)² · v), where m is the mean squared residual of
//     its fit (over 4·(L−2) degrees of freedom for a window of L frames) and
//     v = 1/L + u²/Σu² the relative variance of the fitted value u frames
//     from the window's centre.
//
// On a still or steadily moving head all windows fit equally well, and the
// result is a wide centred local-linear average: with 1 px of noise the RMS
// error falls to about a quarter. A window that straddles the start or the
// end of a movement fits badly, its residual tens of times the noise, and
// gets practically no weight, so the frames before and after a fast
// movement are estimated from windows on their own side: no lag and no
// overshoot (with a 30° turn in 10 frames and 0.5 px of jitter, the
// smoothed chin stays within 1 px of the truth on the still frames around
// the turn). During a movement shorter than the long windows the corners of
// the path are rounded a little: in that turn the chin, moving 4 px per
// frame, stays within 1.3 px, and the glabella, moving 15 px per frame,
// within 3.6 px. The cost is linear in the number of frames.
//
// # Streaming
//
// Smoother gives the same lines, bit for bit, while the video is still
// being tracked, so that mirroring need not wait for the end of the track.
// A frame's smoothed line depends only on the gap-filled frames of the
// windows that contain it, at most 20 frames either side, and on the
// track's length only when the track is shorter than the long windows. So
// it is final once the 20 frames after it are known, which with every frame
// fitted is 20 frames after it was added. A frame without a fit is known
// only when the next fitted frame ends its gap, so a gap holds back the
// lines of its frames and of the 20 before it until then; the last 20
// frames, and any after the last fit, wait for the end of the track. The
// Smoother keeps about a long window of frames and of window fits, however
// long the track, and does the same additions in the same order as the
// whole-track smoother; Smooth itself runs a Smoother, so that the two
// cannot drift apart.
//
// # Debug frame
//
// DrawDebug draws the midline across the whole frame (cyan), the landmarks
// (yellow) and a banner with the head's yaw and its rating: green up to 3°,
// amber up to 5°, red beyond, grey without a face. Mirroring assumes a
// frontal face; a turned head makes one half look narrower than it is.
// Sizes scale with the frame height, and the text, Go Bold, shrinks to fit
// narrow frames.
package mirror
