package ccnf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// A Scale loaded with the panel table written for its file has every
// expert's weights and panel exactly as Load builds them, and no filters;
// a table that is missing, made from another file, damaged, cut short, or
// consistent but built another way is not used (and said so, except when
// missing), and the Scale is built as without one.
func TestPanelTable(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string) []byte {
		t.Helper()
		var buf bytes.Buffer
		if err := WritePanelTable(&buf, modelPath(t, rel)); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	put := func(name string, data []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// refit gives a changed payload a valid checksum again.
	refit := func(table []byte) []byte {
		binary.LittleEndian.PutUint32(table[24:], crc32.Checksum(table[panelHeaderSize:], castagnoli))
		return table
	}

	for _, rel := range []string{general05, leftEye1} {
		good := write(rel)
		flipped := bytes.Clone(good)
		flipped[len(flipped)/2] ^= 1
		rebuilt := bytes.Clone(good)
		rebuilt[panelHeaderSize] ^= 1 // the first expert's first weight
		cases := []struct {
			name    string
			table   []byte // nil: no file
			used    bool
			wantErr bool
		}{
			{"fitting", good, true, false},
			{"missing", nil, false, false},
			{"other file", write(general025), false, true},
			{"flipped bit", flipped, false, true},
			{"cut short", good[:len(good)-64], false, true},
			{"not a table", []byte("FMSIGMA1 and more"), false, true},
			{"built another way", refit(rebuilt), false, true},
		}
		want := loadScale(t, rel)
		for _, tc := range cases {
			t.Run(filepath.Base(rel)+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join(dir, "absent.panels")
				if tc.table != nil {
					path = put(filepath.Base(rel)+"-"+tc.name+".panels", tc.table)
				}
				s, tableErr, err := LoadWithPanels(modelPath(t, rel), path)
				if err != nil {
					t.Fatal(err)
				}
				if (tableErr != nil) != tc.wantErr || (tableErr != nil && !errors.Is(tableErr, ErrPanelTable)) {
					t.Fatalf("table error %v, want one: %v", tableErr, tc.wantErr)
				}
				for v := range want.Experts {
					for i, we := range want.Experts[v] {
						e := s.Experts[v][i]
						if !sameFloats(e.weights, we.weights) || !sameFloats(e.panel, we.panel) {
							t.Fatalf("view %d landmark %d: weights or panel differ from Load's", v, i)
						}
						for _, nr := range e.Neurons {
							if nr.Weights != nil {
								t.Fatalf("view %d landmark %d: filters kept", v, i)
							}
						}
					}
				}
				if s.fromTable != tc.used {
					t.Errorf("weights taken from the table: %v, want %v", s.fromTable, tc.used)
				}
			})
		}
	}
}

func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
