// Package onnxpb holds the Go protocol-buffer types of the ONNX model format
// (ModelProto, GraphProto, NodeProto, TensorProto, ...), so that the model
// installer can write ONNX files without a third-party ONNX library.
//
// onnx.proto3.pb.go is generated, not written by hand. Its source is the
// onnx.proto3 file shipped in the Go module
// github.com/advancedclimatesystems/gonnx v1.1.0 (ONNX IR version 8). The
// module is only downloaded to read that file; it is not a dependency of
// this project. The go_package of the .proto is overridden with protoc's M
// option so the types land in this package.
//
// To regenerate, install protoc (3.21) and protoc-gen-go v1.36.12
// (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12), put
// protoc-gen-go on PATH and run `go generate ./models/onnxpb`.
package onnxpb

//go:generate sh -c "go mod download github.com/advancedclimatesystems/gonnx@v1.1.0 && protoc --proto_path=\"$(go list -m -f '{{.Dir}}' github.com/advancedclimatesystems/gonnx@v1.1.0)/onnx\" --go_out=. --go_opt=paths=source_relative '--go_opt=Monnx.proto3=facemirror/models/onnxpb;onnxpb' onnx.proto3"
