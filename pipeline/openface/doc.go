// Package openface is the analysis stage of OpenFace 2.2's FeatureExtraction:
// given a video's frames and the landmark detector's output for each frame
// (68 landmarks, the CLNF's global and local parameters, success and
// confidence), it produces the rows of OpenFace's CSV: head pose, 2D and 3D
// landmarks, PDM parameters and the 17 AU intensities and 18 AU occurrences
// after OpenFace's offline post-processing. Gaze is not computed, so the
// gaze block is left out of the layout.
//
// The work is split where OpenFace's data dependencies split it:
//
//   - Per frame, independently of every other frame (Analyser.Analyse):
//     the head pose (GetPose: iterative PnP started from the CLNF's
//     parameters, camera from the image size) and camera-space 3D landmarks
//     (CLNF::GetShape) from the landmark detector's own PDM; then, as
//     FaceAnalyser::AddNextFrame does, a fresh PDM fit of the landmarks
//     (PDM::CalcParams), the similarity-aligned and masked 112×112 face and
//     its FHOG descriptor. The result, FrameResult, holds plain numbers only,
//     so helper processes can compute it and send it to a coordinator.
//   - Per video, in frame order (Sequence): the running medians, the AU
//     predictions and the post-processing that needs the whole video.
//
// # Failed frames
//
// OpenFace writes a row for every decoded frame. On a frame where tracking
// failed it still writes what the landmark detector holds: the landmarks
// and parameters of the failed fit (or, before any face was found, all-zero
// landmarks with p_scale 1 and the other parameters 0), the pose and 3D
// landmarks computed from them, success 0 and the detector's confidence.
// The AU stage treats the frame as failed: no fit, an all-black face, and AU
// values of 0 before the temporal smoothing (which can make a failed frame
// between expressive frames non-zero, as in OpenFace). This package does
// the same.
//
// The AU stage is driven by the detector's own detection_success, not by the
// CSV's success column: FeatureExtraction hands CLNF::detection_success to
// the FaceAnalyser, while the CSV records DetectLandmarksInVideo's return
// value, which is true on a first detection even when the validator rejected
// it. Landmarks carries both.
//
// # Input that cannot be used
//
// Bad landmark input never panics and never yields numbers that merely look
// valid. Each frame's FrameResult.Rejected says what happened:
//
//   - NonFinite: a NaN or infinite value anywhere in the landmarks, the
//     parameters or the confidence, or a pose or 3D shape that comes out
//     non-finite (a zero p_scale). The row is written as a failed frame with
//     every geometric column (pose, landmarks, 3D landmarks, parameters) 0
//     and confidence 0.
//   - OutOfFrame: a frame claimed successful whose 68 landmarks all lie
//     outside the image (x < 0 or x > width−1, or y < 0 or y > height−1):
//     the aligned face would hold no image pixel. The row is a failed frame
//     (success 0, AUs from a failed frame); its geometric columns are written
//     as given.
//   - Unfittable: a frame claimed successful on whose landmarks the
//     FaceAnalyser's PDM fit or the alignment cannot work (every x is 0,
//     which OpenFace treats as "no landmark", or a degenerate shape giving a
//     non-finite fit or transform). Written like OutOfFrame.
//
// Landmark or parameter slices of the wrong length are a caller error
// (an error, not a row).
//
// # Agreement with OpenFace
//
// Every stage follows OpenFace's arithmetic (see the pdm, align, fhog and au
// packages), and with OpenFace's own full-precision landmarks the CSV text
// is byte-identical to the reference program's, gaze columns aside. The one
// known exception is the head pose of a frame before any face was found:
// OpenFace then runs solvePnP on 68 landmarks that are all (0, 0). That
// problem has no solution (the face is pushed to infinite depth), and the 20
// Levenberg–Marquardt steps of OpenCV diverge in a way that depends on its
// linear solver: OpenCV solves each step by SVD through LAPACK, and the
// printed numbers differ between LAPACK builds (OpenBLAS 0.3.21 gives the
// reference's −27448284.0, Debian's reference LAPACK −27448816.0), while
// package pdm's Cholesky step reaches −438026816.0. Those pose_* cells are
// meaningless in all three; every other cell of such rows matches.
//
// Re-scoring an OpenFace CSV starts from values rounded to 0.1 px and
// 0.001. Models.LandmarksFromCSV recovers most of that precision from the
// fact that the landmarks are the projection of the printed parameters
// (0.002 px RMS left of the 0.029 px rounding error); on the reference
// videos the AU intensities then correlate with OpenFace's at r ≥ 0.995
// for every AU that varies (mean absolute difference ≤ 0.014) and the
// occurrences agree on 99.67–99.73 % of the cells. With the printed
// values as they are (LandmarksAsPrinted) r falls to 0.977 on a nearly
// neutral face and occurrence agreement to 99.2 %.
package openface
