// Package openface is the analysis stage of OpenFace 2.2's FeatureExtraction:
// given a video's frames and the landmark detector's output for each frame
// (68 landmarks, the CLNF's global and local parameters, its two eye part
// models, success and confidence), it produces the rows of OpenFace's CSV
// as FeatureExtraction -2Dfp -3Dfp -pdmparams -pose -aus -gaze writes them
// (714 columns): gaze, head pose, 2D and 3D landmarks, PDM parameters and
// the 17 AU intensities and 18 AU occurrences after OpenFace's offline
// post-processing.
//
// The work is split where OpenFace's data dependencies split it:
//
//   - Per frame, independently of every other frame (Analyser.Analyse):
//     the head pose (GetPose: iterative PnP started from the CLNF's
//     parameters, camera from the image size) and camera-space 3D landmarks
//     (CLNF::GetShape) from the landmark detector's own PDM; the eye
//     landmarks of the eye part models (left_eye_28, right_eye_28) in 2D
//     and, through their own PDMs, in camera space; on a successful frame
//     the gaze of each eye and the gaze angles (EstimateGaze, GetGazeAngle;
//     package gaze) from those, the pose and the 3D landmarks; then, as
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
// landmarks computed from them, the eye landmarks of the eye models'
// current state (after a failed re-detection, that of the failed attempt,
// although the main model's previous fit is restored), success 0 and the
// detector's confidence. The gaze vectors and angles of such a frame are
// 0: FeatureExtraction estimates gaze only when the frame succeeded.
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
//     parameters, the eye models or the confidence, or a pose, 3D shape or
//     gaze that comes out non-finite (a zero p_scale or eye scale). The row
//     is written as a failed frame with every geometric column (gaze, eye
//     landmarks, pose, landmarks, 3D landmarks, parameters) 0 and
//     confidence 0.
//   - OutOfFrame: a frame claimed successful whose 68 landmarks all lie
//     outside the image (x < 0 or x > width−1, or y < 0 or y > height−1):
//     the aligned face would hold no image pixel. The row is a failed frame
//     (success 0, gaze 0, AUs from a failed frame); its other geometric
//     columns are written as given.
//   - Unfittable: a frame claimed successful on whose landmarks the
//     FaceAnalyser's PDM fit or the alignment cannot work (every x is 0,
//     which OpenFace treats as "no landmark", or a degenerate shape giving a
//     non-finite fit or transform). Written like OutOfFrame.
//
// Landmark or parameter slices of the wrong length, and eye models of the
// wrong size or only one of the two, are a caller error (an error, not a
// row).
//
// # Agreement with OpenFace
//
// Every stage follows OpenFace's arithmetic (see the pdm, gaze, align, fhog
// and au packages). With the landmarks and eye models of package clnf's
// tracker, which reproduces OpenFace's landmark detector bit for bit, the
// CSV text is byte-identical to the reference program's on the reference
// videos, and the gaze of every frame equals OpenFace's EstimateGaze at
// full precision. With OpenFace's own full-precision landmarks but without
// its eye models (Landmarks.Eyes empty, as its dumps are), the CSV is
// byte-identical where OpenFace does not fit the eye models to the picture
// (faces with p_scale at most 0.9, such as v01's); on larger faces (v02,
// v04) only the gaze block differs, the gaze angles by 2.0–3.3° on
// average and up to 12.5°. The one known exception is the head pose of a frame
// before any face was found:
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
// occurrences agree on 99.67–99.73 % of the cells. It also recovers the
// eye models from the printed eye landmarks, and the gaze angles then
// stay within 0.05° of OpenFace's on average (0.23° at most). With the
// printed values as they are (LandmarksAsPrinted) r falls to 0.977 on a
// nearly neutral face and occurrence agreement to 99.2 %.
package openface
