package models

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"facemirror/internal/sharedtest"
	"facemirror/models/onnxconv"
	pb "facemirror/models/onnxpb"
)

func readTestManifest(t *testing.T, dir string) manifest {
	t.Helper()
	m, _, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func writeTestManifest(t *testing.T, dir string, m manifest) {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(manifestName)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The manifest records the converter version and, for each network, the
// hash of the ONNX file and of the .dat it was made from; conversion is
// deterministic, so two installs produce the same bytes.
func TestInstallRecordsWhatTheONNXFilesWereMadeFrom(t *testing.T) {
	dir := installMirror(t)
	m := readTestManifest(t, dir)
	if m.Converter != converterVersion() || len(m.Files) != 3 {
		t.Fatalf("manifest = %+v, want converter %q and 3 files", m, converterVersion())
	}
	sources := map[string]string{
		PNetONNX: "model/mtcnn_detector/PNet.dat",
		RNetONNX: "model/mtcnn_detector/RNet.dat",
		ONetONNX: "model/mtcnn_detector/ONet.dat",
	}
	for _, e := range m.Files {
		src, _ := Lookup(sources[e.Name])
		if e.Source != src.Name || e.SourceSHA256 != src.SHA256 {
			t.Errorf("%s made from %s %s, want %s %s", e.Name, e.Source, e.SourceSHA256, src.Name, src.SHA256)
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Name)))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256Hex(data); got != e.SHA256 {
			t.Errorf("%s has SHA-256 %s, manifest says %s", e.Name, got, e.SHA256)
		}
	}
	// Each file is an ONNX model of the right network.
	for _, g := range generatedFiles {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(g.Name)))
		if err != nil {
			t.Fatal(err)
		}
		var model pb.ModelProto
		if err := proto.Unmarshal(data, &model); err != nil {
			t.Fatalf("%s: %v", g.Name, err)
		}
		gr := model.GetGraph()
		if model.GetProducerName() != onnxconv.Producer || gr.GetName() != g.Graph ||
			len(gr.GetInput()) != 1 || gr.GetInput()[0].GetName() != onnxconv.InputName ||
			len(gr.GetOutput()) != 1 || gr.GetOutput()[0].GetName() != onnxconv.OutputName {
			t.Errorf("%s: producer %q, graph %q, inputs %d, outputs %d", g.Name, model.GetProducerName(), gr.GetName(),
				len(gr.GetInput()), len(gr.GetOutput()))
		}
	}

	m2 := readTestManifest(t, installMirror(t))
	for i := range m.Files {
		if m.Files[i] != m2.Files[i] {
			t.Errorf("two conversions differ: %+v vs %+v", m.Files[i], m2.Files[i])
		}
	}

	got, err := Open(dir).MTCNN()
	want := MTCNNFiles{
		PNet: filepath.Join(dir, "onnx", "mtcnn_pnet.onnx"),
		RNet: filepath.Join(dir, "onnx", "mtcnn_rnet.onnx"),
		ONet: filepath.Join(dir, "onnx", "mtcnn_onet.onnx"),
	}
	if err != nil || got != want {
		t.Errorf("MTCNN() = %+v, %v; want %+v", got, err, want)
	}
	got, err = Open(dir).MTCNNDat()
	want = MTCNNFiles{
		PNet: filepath.Join(dir, "model", "mtcnn_detector", "PNet.dat"),
		RNet: filepath.Join(dir, "model", "mtcnn_detector", "RNet.dat"),
		ONet: filepath.Join(dir, "model", "mtcnn_detector", "ONet.dat"),
	}
	if err != nil || got != want {
		t.Errorf("MTCNNDat() = %+v, %v; want %+v", got, err, want)
	}
}

// Any doubt about a generated file refuses it; Install then regenerates all
// three networks and nothing else.
func TestGeneratedFilesAreRefusedWhenStaleOrAltered(t *testing.T) {
	mirror := sharedtest.Models(t)
	dir := installMirror(t)
	pnet := filepath.Join(dir, "onnx", "mtcnn_pnet.onnx")
	good := readTestManifest(t, dir)
	const hint = "; run `make models` or `facemirror models install` to repair it"
	dat, _ := Lookup("model/mtcnn_detector/PNet.dat")

	tests := []struct {
		name  string
		spoil func(t *testing.T)
		kind  error
		msg   string
	}{
		{
			name: "other converter version",
			spoil: func(t *testing.T) {
				m := readTestManifest(t, dir)
				m.Converter = "0-old"
				writeTestManifest(t, dir, m)
			},
			kind: ErrStale,
			msg: "model file onnx/mtcnn_pnet.onnx (" + pnet + `) is out of date: made by converter version "0-old", this program's is "` +
				converterVersion() + `"` + hint,
		},
		{
			name: "other source",
			spoil: func(t *testing.T) {
				m := readTestManifest(t, dir)
				m.Files[0].SourceSHA256 = strings.Repeat("0", 64)
				writeTestManifest(t, dir, m)
			},
			kind: ErrStale,
			msg: "model file onnx/mtcnn_pnet.onnx (" + pnet + ") is out of date: made from model/mtcnn_detector/PNet.dat with SHA-256 " +
				strings.Repeat("0", 64) + ", expected model/mtcnn_detector/PNet.dat with SHA-256 " + dat.SHA256 + hint,
		},
		{
			name: "no manifest",
			spoil: func(t *testing.T) {
				if err := os.Remove(filepath.Join(dir, "onnx", "manifest.json")); err != nil {
					t.Fatal(err)
				}
			},
			kind: ErrStale,
			msg:  "model file onnx/mtcnn_pnet.onnx (" + pnet + ") is out of date: onnx/manifest.json is missing" + hint,
		},
		{
			name: "unreadable manifest",
			spoil: func(t *testing.T) {
				if err := os.WriteFile(filepath.Join(dir, "onnx", "manifest.json"), []byte("{"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			kind: ErrStale,
			msg: "model file onnx/mtcnn_pnet.onnx (" + pnet + ") is out of date: parse " + filepath.Join(dir, "onnx", "manifest.json") +
				": unexpected end of JSON input" + hint,
		},
		{
			name: "altered network",
			spoil: func(t *testing.T) {
				if err := os.WriteFile(pnet, []byte("not a network"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			kind: ErrAltered,
			msg: "model file onnx/mtcnn_pnet.onnx (" + pnet + ") is altered: SHA-256 is " + sha256Hex([]byte("not a network")) +
				", expected " + good.Files[0].SHA256 + hint,
		},
		{
			name: "missing network",
			spoil: func(t *testing.T) {
				if err := os.Remove(pnet); err != nil {
					t.Fatal(err)
				}
			},
			kind: ErrMissing,
			msg: "model file onnx/mtcnn_pnet.onnx is missing (looked for " + pnet + "; expected SHA-256 " +
				good.Files[0].SHA256 + ")" + hint,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Open(dir)
			if _, err := s.MTCNN(); err != nil {
				t.Fatalf("before: %v", err)
			}
			tt.spoil(t)
			_, err := s.Path(PNetONNX)
			if !errors.Is(err, tt.kind) || err.Error() != tt.msg {
				t.Fatalf("Path(%s) error\n got %v\nwant %s", PNetONNX, err, tt.msg)
			}
			if _, err := s.MTCNN(); !errors.Is(err, tt.kind) {
				t.Errorf("MTCNN() error = %v, want %v", err, tt.kind)
			}
			var rec recorder
			if err := Install(context.Background(), dir, InstallOptions{Mirror: mirror, Progress: rec.add}); err != nil {
				t.Fatal(err)
			}
			if got := rec.count(); !sameCounts(got, map[Action]int{Kept: len(Files()), Converted: 3}) {
				t.Errorf("repair actions %v", got)
			}
			if _, err := s.MTCNN(); err != nil {
				t.Errorf("after repair: %v", err)
			}
			if m := readTestManifest(t, dir); m.Converter != good.Converter || m.Files[0] != good.Files[0] {
				t.Errorf("manifest after repair %+v, want %+v", m, good)
			}
		})
	}
}

// A file the manifest vouches for but that this program's converter would
// not write (as after a converter change whose version string stayed the
// same) passes Path, yet Install notices and regenerates it.
func TestInstallRegeneratesWhatTheConverterWouldNotWrite(t *testing.T) {
	dir := installMirror(t)
	m := readTestManifest(t, dir)
	pnet := filepath.Join(dir, filepath.FromSlash(PNetONNX))
	old := []byte("an older converter's PNet")
	if err := os.WriteFile(pnet, old, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := m.Files[0].SHA256
	m.Files[0].SHA256 = sha256Hex(old)
	writeTestManifest(t, dir, m)
	if _, err := Open(dir).Path(PNetONNX); err != nil {
		t.Fatalf("Path of a file the manifest vouches for: %v", err)
	}

	var rec recorder
	if err := Install(context.Background(), dir, InstallOptions{Mirror: sharedtest.Models(t), Progress: rec.add}); err != nil {
		t.Fatal(err)
	}
	if got := rec.count(); !sameCounts(got, map[Action]int{Kept: len(Files()), Converted: 3}) {
		t.Errorf("actions %v", got)
	}
	data, err := os.ReadFile(pnet)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256Hex(data); got != fresh || readTestManifest(t, dir).Files[0].SHA256 != fresh {
		t.Errorf("after Install %s has SHA-256 %s, want %s", PNetONNX, got, fresh)
	}
}
