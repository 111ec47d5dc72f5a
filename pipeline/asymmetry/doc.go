// Package asymmetry compares the action-unit (AU) intensities of the two
// halves of a face to quantify facial asymmetry, as in facial palsy.
//
// FaceMirror builds, from each patient video, a left-mirrored and a
// right-mirrored video (each made of one half of the face) and runs
// OpenFace on both, which gives <stem>_left_mirrored.csv for the patient's
// left half and <stem>_right_mirrored.csv for the right half. A healthy
// face moves both halves alike, so the two files' intensities agree; a
// paralysed half moves less, and the gap between them measures how much.
// This package lines the two files up frame by frame and writes two
// tables a clinician can open in a spreadsheet:
//
//   - <stem>_asymmetry.csv, one row per frame: frame, timestamp,
//     success_left, success_right, then AUxx_left, AUxx_right, AUxx_diff
//     for each intensity AU in OpenFace's column order. diff is
//     left − right, so it is positive where the left half moves more.
//     Frames are numbered 1, 2, … like OpenFace's, the timestamp has
//     OpenFace's 3 decimals and the intensities its 2. diff is computed
//     from the full-precision intensities and only then rounded to 2
//     decimals, so it can differ by 0.01 from the difference of the two
//     printed columns; a diff that rounds to zero is printed 0.00, never
//     -0.00. Values of frames without a face are copied as OpenFace wrote
//     them (0).
//
//   - <stem>_summary.csv, one row per AU and then one per facial region:
//     item, kind (au or region), frames, mean_left, mean_right,
//     mean_abs_diff, asymmetry_index, with 4 decimals.
//
// # Summary: formula and regions
//
// The summary uses only the frames in which OpenFace found a face on both
// sides (success 1 in both files); frames is their number. Over those
// frames, mean_left and mean_right are the mean intensities of each side
// and mean_abs_diff is the mean of |left − right|. The mean absolute
// difference is reported besides the difference of the means because a
// face can be asymmetric in timing (one side leading the other) with equal
// means. The asymmetry index is
//
//	AI = (mean_left − mean_right) / (mean_left + mean_right)
//
// a signed value in [−1, 1]: positive when the left side moves more,
// negative when the right side moves more, 0 when both move alike, ±1
// when only one side moves. Dividing by the sum makes the index
// comparable across AUs whose intensities have different ranges. When
// mean_left + mean_right is below MinActivityForAI (0.05) the AU is
// essentially absent on both sides and the ratio would be noise, so the
// index is left empty. When no frame has a face on both sides, every row
// is still written, with frames 0 and empty values.
//
// Regions follow how palsy gradings such as House-Brackmann and
// Sunnybrook examine the face:
//
//   - upper (brows and forehead): AU01, AU02, AU04
//   - middle (eyes and cheeks): AU05, AU06, AU07, AU09, AU45
//   - lower (mouth): AU10, AU12, AU14, AU15, AU17, AU20, AU23, AU25, AU26
//
// A region's mean_left, mean_right and mean_abs_diff are the means, over
// its AUs, of the per-AU values, so each AU weighs the same however
// strongly it is expressed; its asymmetry index applies the formula and
// the threshold above to the region's mean_left and mean_right. AUs of a
// region that the data lacks are left out of its means; a region with
// none of its AUs has frames 0 and empty values.
//
// Both files are written atomically: a temporary file beside the
// destination is filled, synced and renamed over it, and removed on any
// error, so a destination is either left as it was or replaced whole.
package asymmetry
