//go:build !darwin

package onnxrt

import (
	"errors"

	ort "github.com/yalue/onnxruntime_go"
)

// appendCoreML reports that CoreML exists only on macOS.
func appendCoreML(*ort.SessionOptions) error {
	return errors.New("CoreML is only available on macOS")
}
