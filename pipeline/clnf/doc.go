// Package clnf is OpenFace 2.2's CLNF facial landmark detector and video
// tracker, reproduced step by step so that its landmarks, parameters and
// confidence agree with OpenFace's FeatureExtraction.
//
// A Model holds the immutable model data read from main_clnf_general.txt:
// the 68-point point distribution model, the CCNF patch experts at three
// scales, the three hierarchical part models (inner face, left and right
// eye) with their landmark index maps, and the detection validator. It is
// safe to share between goroutines.
//
// Fitting is OpenFace's NU-RLMS: at each patch scale, the patch experts'
// response maps around the current landmarks are smoothed by a Gaussian
// kernel density estimate whose mean shifts drive a rigid and then a
// non-rigid regularised Gauss–Newton optimisation of the PDM parameters.
// The part models refine the eyes and inner face of large faces, the main
// PDM is re-fitted to the merged landmarks, and the validator rates the
// result. Every arithmetic step follows OpenFace's float32 code (libm
// calls in float64, OpenCV's and OpenBLAS's summation orders), because the
// fit is iterative and small differences would grow; that includes the
// 121×121 Sigma inverse at window size 11, which OpenFace's OpenCV hands
// to LAPACK (OpenBLAS 0.3.21's sposv, emulated in package exactmath).
// Every NU-RLMS step of the reference traces and every frame of the
// reference videos (v01, v02, v04, tracked from the first frame on) gives
// OpenFace's parameters and landmarks bit for bit.
//
// A Tracker (one per video) carries OpenFace's DetectLandmarksInVideo state
// from frame to frame: tracking from the previous frame's parameters with
// the small search windows, face re-detection after failures, restoration
// of the previous fit when a re-detection fails, and de-initialisation
// after more than 100 failures in a row. Its Result also holds every part
// model's state after the frame (Result.Parts), from which
// FeatureExtraction reads the eye landmarks and the gaze; like OpenFace's,
// the part models keep the state of their last fit, including that of a
// failed re-detection whose main fit was discarded.
package clnf
