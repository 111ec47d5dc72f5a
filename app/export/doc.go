// Package export writes the files of the window's File ▸ Export AU CSV… and
// File ▸ Export summary CSV… commands. They gather the results of several
// finished videos into one table, so that a study's data can be opened in
// a spreadsheet or a statistics program in one go.
//
// The AU table (AUs) has one row per video, side and frame: video, side
// (source, left or right), frame, timestamp, success, then OpenFace 2.2's
// 17 AU intensities (AU01_r … AU45_r) and 18 AU occurrences (AU01_c …
// AU45_c) in OpenFace's column order. The summary table (Summary) has one
// row per video and item of its <stem>_summary.csv: video, item, kind,
// frames, mean_left, mean_right, mean_abs_diff, asymmetry_index (see
// package facemirror/pipeline/asymmetry).
//
// Cells are copied as the result files print them, never parsed and
// printed again: the numbers a study reports then are exactly OpenFace's
// (and the asymmetry package's), digit for digit. Input columns are found
// by name, with surrounding spaces and a byte-order mark ignored, since
// some OpenFace builds write ", " separators; their order and any other
// columns do not matter.
//
// Inputs are read one at a time, row by row, so an export of many long
// videos needs little memory. Before anything is written every input's
// header is checked, so that a missing file or column is reported at
// once rather than after most of a long export.
//
// The table is written atomically: a temporary file in the destination's
// folder is filled, synced and renamed over the destination, and removed
// on any error, so the destination is either left as it was or replaced
// whole. Files are comma-separated UTF-8 with "\n" line ends and a header
// line, as encoding/csv writes them.
package export
