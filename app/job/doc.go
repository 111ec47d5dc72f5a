// Package job runs one of FaceMirror's modes over a list of files: the one
// place the process command and the window share (Run).
//
// Mode "aus" writes OpenFace 2.2's CSV for each input. Mode "mirror"
// tracks the face of the whole video, smooths the facial midline over the
// track (package mirror) and has a helper write the left-mirrored,
// right-mirrored and debug videos. Mode "full" does both and also analyses
// each mirrored face as a video of its own: a CSV per side, and the
// left-against-right asymmetry tables (package pipeline/asymmetry).
//
// The heavy work runs in helper processes (package app/helper); this
// package plans it, puts the frames that come back in order through
// OpenFace's AU stage, writes every output atomically and reports
// progress, previews and per-frame AU values as events.
package job
