// Package au predicts facial action units (AUs) the way OpenFace 2.2's
// FaceAnalyser does for a video: intensity (0–5) of 17 AUs from linear SVRs
// and occurrence (0/1) of 18 AUs from linear SVMs, applied to a 4702-value
// feature vector of the aligned face's FHOG descriptor (4464 values) and a
// geometry descriptor built from the PDM's non-rigid parameters (238).
//
// Dynamic predictors subtract a per-video running median of the features
// (the person's neutral face), estimated with OpenFace's histogram median
// updated on every other frame. An Analyser is fed the frames of one video
// in order and returns OpenFace's online predictions; Postprocess then
// redoes what FeatureExtraction writes to its CSV at the end: it predicts
// the first 3000 successful frames again with the final medians, shifts the
// dynamic intensities by a person-specific offset, clamps to [0, 5] and
// smooths in time.
//
// Arithmetic follows the C++ operation by operation: features and
// predictions in float64, PDM values in float32 widened to float64, each
// prediction summed in OpenCV's order and the geometry in the order of
// OpenBLAS's kernel, so that on OpenFace's inputs the online predictions,
// running medians and offline values agree with OpenFace 2.2 bit for bit.
package au
