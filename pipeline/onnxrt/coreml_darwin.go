//go:build darwin

package onnxrt

import ort "github.com/yalue/onnxruntime_go"

// appendCoreML adds Apple's CoreML provider. The ML Program format handles
// the detector's dynamic input sizes; nodes CoreML cannot take stay on the
// CPU.
func appendCoreML(o *ort.SessionOptions) error {
	return o.AppendExecutionProviderCoreMLV2(map[string]string{"ModelFormat": "MLProgram"})
}
