package openface

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// TestFrameResultEncoding round-trips real results through MarshalBinary,
// gob and JSON, and checks that damaged bytes are refused.
func TestFrameResultEncoding(t *testing.T) {
	m := testModels(t)
	img, lms := firstFrames(t, 1)
	defer img[0].Close()
	ok, err := m.Analyse(img[0], lms[0])
	if err != nil {
		t.Fatal(err)
	}
	noFace := lms[0]
	noFace.Success, noFace.DetectionSuccess = false, false
	failed, err := m.Analyse(img[0], noFace)
	if err != nil {
		t.Fatal(err)
	}
	out := lms[0]
	out.Points = append([]float32(nil), out.Points...)
	for i := range out.Points {
		out.Points[i] = -5
	}
	rejected, err := m.Analyse(img[0], out)
	if err != nil {
		t.Fatal(err)
	}
	keep := m.NewAnalyser()
	keep.KeepAligned = true
	withFace, err := keep.Analyse(img[0], lms[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(withFace.Aligned) != 112*112*3 || ok.Aligned != nil {
		t.Fatalf("aligned face of %d bytes kept, %d without KeepAligned", len(withFace.Aligned), len(ok.Aligned))
	}
	for _, tc := range []struct {
		name string
		r    FrameResult
	}{{"successful", ok}, {"with its aligned face", withFace}, {"failed", failed}, {"rejected", rejected}} {
		b, err := tc.r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s frame: %d bytes", tc.name, len(b))
		var back FrameResult
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tc.r) {
			t.Fatalf("%s: binary round trip changed the result", tc.name)
		}
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(tc.r); err != nil {
			t.Fatal(err)
		}
		back = FrameResult{}
		if err := gob.NewDecoder(&buf).Decode(&back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tc.r) {
			t.Fatalf("%s: gob round trip changed the result", tc.name)
		}
		js, err := json.Marshal(tc.r)
		if err != nil {
			t.Fatal(err)
		}
		back = FrameResult{}
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tc.r) {
			t.Fatalf("%s: JSON round trip changed the result", tc.name)
		}

		// Every truncation, a bad header, trailing bytes, bad flags.
		for n := 0; n < len(b); n += 1 + n/3 {
			if err := back.UnmarshalBinary(b[:n]); !errors.Is(err, ErrEncoding) {
				t.Fatalf("%d of %d bytes: %v", n, len(b), err)
			}
		}
		for _, bad := range [][]byte{
			append([]byte("OFR\x01"), b[4:]...),
			append(append([]byte(nil), b...), 0),
			append(append([]byte(nil), b[:4]...), append([]byte{0x80}, b[5:]...)...),
			append(append([]byte(nil), b[:5]...), append([]byte{9}, b[6:]...)...),
		} {
			keep := back
			if err := back.UnmarshalBinary(bad); !errors.Is(err, ErrEncoding) {
				t.Fatalf("damaged bytes: %v", err)
			}
			if !reflect.DeepEqual(back, keep) {
				t.Fatal("a failed decode changed the result")
			}
		}
	}
	if rejected.Rejected != OutOfFrame {
		t.Fatalf("points at (−5, −5): %v", rejected.Rejected)
	}
	if ok.Gaze == ([6]float32{}) || ok.GazeAngle == ([2]float32{}) || len(ok.EyeLandmarks) != 112 || len(ok.EyeLandmarks3D) != 168 {
		t.Fatalf("the successful frame has no gaze block: %v %v, %d and %d eye landmark values",
			ok.Gaze, ok.GazeAngle, len(ok.EyeLandmarks), len(ok.EyeLandmarks3D))
	}
}
