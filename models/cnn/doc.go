// Package cnn reads OpenFace's own binary CNN format (the MTCNN face
// detector's PNet.dat, RNet.dat and ONet.dat) and runs the networks with a
// plain-Go forward pass that follows OpenFace 2.2's layer semantics.
//
// The forward pass is the reference the ONNX Runtime path is checked
// against, and the fallback when ONNX Runtime is unavailable. It reproduces
// the float32 arithmetic of OpenFace's build on its reference machine
// (OpenCV 4.6 with OpenBLAS 0.3.21's Cooperlake kernels), not just the
// formulas: convolutions are FMA chains over OpenFace's im2col column order,
// cut into the k slices OpenBLAS uses; fully connected layers with fewer than
// 100 outputs accumulate in float64 as OpenCV's own product does, larger
// ones follow OpenBLAS's 16-lane dot kernel; max-pooling uses OpenFace's
// output size round((in-k)/s)+1 with border windows clipped. On the
// reference data (v01 frame 0) every PNet, RNet and ONet regression output
// matches OpenFace bit for bit.
//
// Tensor and Runner are shared with the ONNX Runtime sessions
// (facemirror/pipeline/onnxrt), so the face detector can use either.
package cnn
