// Package validator is OpenFace 2.2's CNN detection validator, which
// decides whether a CLNF landmark fit is a face: the landmarks' region of
// the grey frame is warped piecewise-affinely onto the 60×60 template of
// the nearest of seven head orientations, normalised, and classified by a
// small CNN (two convolutions, two fully connected layers) into 30 bins of
// landmark error; the winning bin gives the certainty, and a fit passes
// when it is above Threshold.
//
// Every step follows OpenFace's arithmetic: OpenCV's fixed-point remap,
// meanStdDev in double, float32 normalisation, the convolutions as the
// float32 FMA chains of the reference machine's OpenBLAS and the fully
// connected layers as OpenCV's double-accumulating gemm (both from package
// exactmath). On the
// three reference videos it reproduces OpenFace's certainty on every frame
// whose logged landmarks and certainty come from the same fit.
package validator
