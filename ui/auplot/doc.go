// Package auplot keeps the action unit (AU) intensity curves of a video and
// draws them as an image.
//
// A [Curves] value collects, frame by frame, the OpenFace AU intensities
// (0 to 5) computed for the whole face (the source side) or for each
// mirrored half of it (the left and right sides). The window shows the
// result of [Curves.Render] a few times a second while a video is
// processed, so that a clinician can see at a glance whether an action unit
// moves less on one side, and again when a finished video is reviewed.
// Each selected AU gets its own small panel, all panels sharing the time
// axis, with the left and right curves overlaid and the panel title giving
// the asymmetry index of [Curves.Asymmetry].
//
// # Decimation
//
// A ten-minute video at 30 frames per second has 18,000 frames per side,
// twenty times more points than an image is wide. Stroking them all would
// make every redraw slow while adding nothing a screen can show, so before
// plotting each curve is reduced to the minimum and the maximum of the values
// falling in each pixel column, kept in time order. Averaging or picking
// every n-th frame would be cheaper still but would flatten one-frame peaks
// such as eye blinks (AU45), which are exactly what a reader looks for.
//
// # Why gonum/plot
//
// gonum.org/v1/plot is pure Go, so it adds no C dependency to a program
// that already needs OpenCV and ONNX Runtime, and it rasterises straight
// into an [image.Image], which any toolkit can show. The package does not
// depend on the GUI toolkit: it can be tested headless and the window decides
// how and when to display the image.
//
// # Concurrency
//
// A Curves value is not safe for concurrent use. A program that adds frames
// from a processing goroutine and renders from the user interface must
// serialise the calls, for example with a sync.Mutex.
package auplot
