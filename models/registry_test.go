package models

import (
	"bufio"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"facemirror/internal/sharedtest"
)

// The registry must equal, hash for hash, the lines of the shared
// SHA256SUMS (the two public copies of OpenFace 2.2.0 agree on them).
func TestRegistryHashesMatchSharedSums(t *testing.T) {
	dir := sharedtest.Models(t)
	data, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		hash, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		sums[strings.TrimPrefix(name, "./")] = hash
	}
	files := Files()
	if len(files) != 67 {
		t.Errorf("registry has %d files, want 67", len(files))
	}
	for _, f := range files {
		if want, ok := sums[f.Name]; !ok {
			t.Errorf("%s is not in the shared SHA256SUMS", f.Name)
		} else if f.SHA256 != want {
			t.Errorf("%s: registry SHA-256 %s, SHA256SUMS %s", f.Name, f.SHA256, want)
		}
	}
}

// registryExtras are registry files no configuration file names but that
// FaceMirror reads directly.
var registryExtras = []string{
	// The landmark folder's copy of the full-face triangulation
	// (byte-identical to AU_predictors/tris_68_full.txt), kept so the
	// model/ tree is complete for anything that reads triangulations there.
	"model/tris_68_full.txt",
}

// configRoots are the files the program opens first; everything else is
// reached through the references inside them.
var configRoots = []string{
	"model/main_clnf_general.txt",
	"model/mtcnn_detector/MTCNN_detector.txt",
	"AU_predictors/main_dynamic_svms.txt",
}

// The registry is exactly what the configuration files reference (plus
// registryExtras), so it cannot drift from what the loaders will open.
func TestRegistryIsWhatTheConfigsReference(t *testing.T) {
	dir := sharedtest.Models(t)
	want := map[string]bool{}
	for _, name := range registryExtras {
		want[name] = true
	}
	var walk func(name string, kind configKind)
	walk = func(name string, kind configKind) {
		if want[name] && kind != dataFile {
			return
		}
		want[name] = true
		if kind == dataFile {
			return
		}
		for _, ref := range configRefs(t, dir, name, kind) {
			walk(ref.name, ref.kind)
		}
	}
	for _, root := range configRoots {
		kind := mainConfig
		switch {
		case strings.HasSuffix(root, "MTCNN_detector.txt"):
			kind = mtcnnConfig
		case strings.HasPrefix(root, "AU_predictors/"):
			kind = auMain
		}
		walk(root, kind)
	}

	var got []string
	for _, f := range Files() {
		got = append(got, f.Name)
		if !want[f.Name] {
			t.Errorf("registry lists %s, which no configuration references", f.Name)
		}
	}
	for name := range want {
		if _, ok := Lookup(name); !ok {
			t.Errorf("%s is referenced but not in the registry", name)
		}
	}
	// Spot checks that the walk really followed every level.
	for _, name := range []string{
		"model/model_eye/patch_experts/left_ccnf_patches_1.50_synth_lid_.txt",
		"model/model_inner/pdms/pdm_51_inner.txt",
		"model/mtcnn_detector/ONet.dat",
		"AU_predictors/svr_combined/AU_45_dynamic_intensity_comb.dat",
		"AU_predictors/svm_combined/AU_28_dynamic.dat",
		"model/haarAlign.txt",
	} {
		if !slices.Contains(got, name) {
			t.Errorf("registry lacks %s", name)
		}
	}
}

type configKind int

const (
	dataFile    configKind = iota
	mainConfig             // main_*.txt: LandmarkDetector, parts, validator
	modelConfig            // clnf_*.txt: PDM, triangulation, patch experts
	mtcnnConfig            // MTCNN_detector.txt: the three networks
	auMain                 // main_dynamic_svms.txt: predictor list, PDM, triangulation
	auList                 // AU_all_best.txt: one predictor file per line
)

type configRef struct {
	name string
	kind configKind
}

// configRefs reads the file references of an OpenFace configuration file;
// paths in it are relative to its own folder.
func configRefs(t *testing.T, dir, name string, kind configKind) []configRef {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	base := path.Dir(name)
	var refs []configRef
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		key, arg := fields[0], fields[1]
		var k configKind
		switch kind {
		case mainConfig:
			switch key {
			case "LandmarkDetector":
				k = modelConfig
			case "LandmarkDetector_part":
				k = mainConfig
			case "FaceDetConversion", "DetectionValidator":
				k = dataFile
			default:
				t.Fatalf("%s: unknown key %q", name, key)
			}
		case modelConfig:
			switch key {
			case "PDM", "Triangulations", "PatchesCCNF":
				k = dataFile
			default:
				t.Fatalf("%s: unknown key %q", name, key)
			}
		case mtcnnConfig:
			switch key {
			case "PNet", "RNet", "ONet":
				k = dataFile
			default:
				t.Fatalf("%s: unknown key %q", name, key)
			}
		case auMain:
			switch key {
			case "AUPredictor":
				k = auList
			case "PDM", "Triangulation":
				k = dataFile
			default:
				t.Fatalf("%s: unknown key %q", name, key)
			}
		case auList:
			key, arg = "", fields[0]
			if !strings.HasPrefix(fields[1], "AU") {
				t.Fatalf("%s: line %q does not name an AU", name, sc.Text())
			}
		}
		refs = append(refs, configRef{name: path.Join(base, arg), kind: k})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(refs) == 0 {
		t.Fatalf("%s references nothing", name)
	}
	return refs
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		hash string
	}{
		{"model/mtcnn_detector/PNet.dat", true, "22dfd0a96ec983e99b21c0e214d89d55ea9a471eedd53e5a48203f22bcb4c489"},
		{"model/main_clnf_general.txt", true, "532753cc2238d3e3dc398fff09b7b385a7edd7306a1edc2a22dac3ed2abdeb6e"},
		{"AU_predictors/AU_all_best.txt", true, "61704fa352733807e54410b30bfb60a44e99d94482cc6b46f19ae0549a06fddf"},
		{"model/cen_general.txt", false, ""},           // CE-CLM, not used
		{"AU_predictors/AU_all_static.txt", false, ""}, // static-only predictors, not used
		{"./model/mtcnn_detector/PNet.dat", false, ""}, // names are clean paths
		{PNetONNX, false, ""},                          // generated, not registered
	}
	for _, tt := range tests {
		f, ok := Lookup(tt.name)
		if ok != tt.ok || f.SHA256 != tt.hash {
			t.Errorf("Lookup(%q) = %+v, %v; want hash %q, %v", tt.name, f, ok, tt.hash, tt.ok)
		}
	}
}

func TestFileURL(t *testing.T) {
	tests := []struct {
		name, base, want string
	}{
		{"model/mtcnn_detector/PNet.dat", "",
			"https://raw.githubusercontent.com/TadasBaltrusaitis/OpenFace/658a6a1/lib/local/LandmarkDetector/model/mtcnn_detector/PNet.dat"},
		{"AU_predictors/svr_combined/AU_1_dynamic_intensity_comb.dat", "",
			"https://raw.githubusercontent.com/TadasBaltrusaitis/OpenFace/658a6a1/lib/local/FaceAnalyser/AU_predictors/svr_combined/AU_1_dynamic_intensity_comb.dat"},
		{"model/tris_68.txt", "http://127.0.0.1:8080/",
			"http://127.0.0.1:8080/lib/local/LandmarkDetector/model/tris_68.txt"},
	}
	for _, tt := range tests {
		f, ok := Lookup(tt.name)
		if !ok {
			t.Fatalf("%s not in registry", tt.name)
		}
		if got := f.URL(tt.base); got != tt.want {
			t.Errorf("URL(%q) of %s = %s, want %s", tt.base, tt.name, got, tt.want)
		}
	}
	// Every default URL points into the pinned commit's tree, at one of the
	// two OpenFace folders the files live in, and survives URL parsing.
	for _, f := range Files() {
		u, err := url.Parse(f.URL(""))
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		p := strings.TrimPrefix(u.Path, "/TadasBaltrusaitis/OpenFace/658a6a1/")
		if u.Scheme != "https" || u.Host != "raw.githubusercontent.com" || p == u.Path ||
			!(strings.HasPrefix(p, "lib/local/LandmarkDetector/model/") || strings.HasPrefix(p, "lib/local/FaceAnalyser/AU_predictors/")) ||
			path.Clean(p) != p {
			t.Errorf("%s: URL %s has the wrong shape", f.Name, u)
		}
	}
}

func TestParseSumsRefusesBadLines(t *testing.T) {
	const h = "22dfd0a96ec983e99b21c0e214d89d55ea9a471eedd53e5a48203f22bcb4c489"
	tests := []struct {
		text, wantErr string
	}{
		{h + " model/x", "want \"<sha256>  <name>\""},
		{strings.ToUpper(h) + "  model/x", "not a lowercase hex SHA-256"},
		{h[:63] + "  model/x", "not a lowercase hex SHA-256"},
		{h + "  ../x", "not a clean relative path"},
		{h + "  /etc/passwd", "not a clean relative path"},
		{h + "  model/../../x", "not a clean relative path"},
		{h + "  ./model/x", "not a clean relative path"},
		{h + `  model\x`, "not a clean relative path"},
		{h + "  model/x\n" + h + "  model/x", "listed twice"},
	}
	for _, tt := range tests {
		_, err := parseSums(tt.text)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("parseSums(%q) error = %v, want it to contain %q", tt.text, err, tt.wantErr)
		}
	}
	files, err := parseSums(h + "  b\n" + h + "  a/c")
	if err != nil || len(files) != 2 || files[0].Name != "a/c" || files[1].Name != "b" {
		t.Errorf("parseSums sorted = %+v, %v", files, err)
	}
}
