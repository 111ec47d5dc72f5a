package ccnf

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// A table written by WriteSigmaTable and attached to a freshly loaded
// Scale gives every expert the Sigma it would compute itself, bit for bit;
// tables for another window size, another model, or with a flipped bit or
// a missing byte are refused and leave the Scale computing its own.
func TestSigmaTable(t *testing.T) {
	cases := []struct {
		file string
		ws   int
	}{
		{general05, 7},
		{leftEye1, 3},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := loadScale(t, tc.file).WriteSigmaTable(&buf, tc.ws); err != nil {
				t.Fatal(err)
			}
			table := buf.Bytes()
			fresh := loadScale(t, tc.file)
			withTable := loadScale(t, tc.file)
			if err := withTable.AttachSigmaTable(table, tc.ws); err != nil {
				t.Fatal(err)
			}
			checked := 0
			for v := range fresh.Experts {
				for i := range fresh.Experts[v] {
					if !fresh.Visible(v, i) {
						continue
					}
					want, err := fresh.Sigma(v, i, tc.ws)
					if err != nil {
						t.Fatal(err)
					}
					got, err := withTable.Sigma(v, i, tc.ws)
					if err != nil {
						t.Fatal(err)
					}
					for k := range want {
						if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
							t.Fatalf("view %d landmark %d: Sigma[%d] = %g from the table, %g computed", v, i, k, got[k], want[k])
						}
					}
					if withTable.Experts[v][i].sigmas != nil {
						t.Fatalf("view %d landmark %d: computed despite the table", v, i)
					}
					checked++
				}
			}
			t.Logf("%d Sigmas of %d×%d, table of %d bytes", checked, tc.ws*tc.ws, tc.ws*tc.ws, len(table))

			flipped := bytes.Clone(table)
			flipped[len(flipped)-3] ^= 0x10 // the last Sigma, which is recomputed
			other := loadScale(t, general035)
			bad := []struct {
				name  string
				scale *Scale
				data  []byte
				ws    int
			}{
				{"other window size", loadScale(t, tc.file), table, tc.ws + 2},
				{"short", loadScale(t, tc.file), table[:len(table)-1], tc.ws},
				{"flipped bit", loadScale(t, tc.file), flipped, tc.ws},
				{"no header", loadScale(t, tc.file), table[:10], tc.ws},
				{"other model", other, table, tc.ws},
			}
			for _, b := range bad {
				err := b.scale.AttachSigmaTable(b.data, b.ws)
				if !errors.Is(err, ErrSigmaTable) {
					t.Errorf("%s: %v, want ErrSigmaTable", b.name, err)
				}
				if b.scale.tables != nil {
					t.Errorf("%s: table attached", b.name)
				}
			}
		})
	}
}
