// Package job runs one of FaceMirror's modes over a list of files: the one
// place the process command and the window share (Run).
//
// Mode "aus" writes OpenFace 2.2's CSV for each input. In mode "mirror" one
// helper per video tracks its face, smooths the facial midline as the
// track grows (package mirror) and, about 20 frames behind the tracking,
// writes the left-mirrored, right-mirrored and debug videos. Mode "full"
// does both and also analyses each mirrored face as a video of its own,
// in the same helper: a CSV per side, and the left-against-right asymmetry
// tables (package pipeline/asymmetry).
//
// The heavy work runs in helper processes (package app/helper); this
// package plans it, puts the frames that come back in order through
// OpenFace's AU stage, writes every output atomically and reports
// progress, previews and per-frame AU values as events.
package job
