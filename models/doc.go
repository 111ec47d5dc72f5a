// Package models knows every model file FaceMirror uses, where they live on
// this machine, whether they are intact, and how to install them.
//
// The model files themselves are OpenFace 2.2.0's and are not in the
// repository: only their names and SHA-256 hashes are (the registry, see
// Files). A model folder has OpenFace's layout (model/..., AU_predictors/...)
// plus onnx/, which Install fills with ONNX conversions of the three MTCNN
// networks and a manifest of what they were made from.
//
// A Store hands out paths only for files whose hash it has checked, so a
// damaged or half-copied model can never silently change the numbers the
// program reports.
package models
