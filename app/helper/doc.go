// Package helper is FaceMirror's helper process ("facemirror worker") and
// its requests: what a helper serves (Serve, Main), the request kinds and
// their payloads (KindDetect, KindInfo, KindAnalyse, KindMirror) with typed
// client calls (Detect, QueryRuntime, Analyse, Mirror), and how the
// window and the commands start helpers (Config).
//
// Everything heavy runs here, never in the window's process: ONNX Runtime
// (whose accelerated providers have crashed in a main process), decoding,
// landmark tracking, mirroring and the encoders. A helper that crashes
// costs its client a retry (package app/worker), nothing else.
package helper
