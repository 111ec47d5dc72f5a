package study

import (
	"slices"
	"strings"
	"testing"
)

func TestReadList(t *testing.T) {
	got, err := ReadList(strings.NewReader("a.mp4\n\n  \nb c/ d.mov\r\n/abs/e.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.mp4", "b c/ d.mov", "/abs/e.mp4"}; !slices.Equal(got, want) {
		t.Errorf("ReadList = %q, want %q", got, want)
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  string
	}{
		{in: "0/1", want: Shard{0, 1}},
		{in: "3/10", want: Shard{3, 10}},
		{in: " 2 / 4 ", want: Shard{2, 4}},
		{in: "4/4", err: `shard "4/4": K must be from 0 to 3`},
		{in: "-1/4", err: `shard "-1/4": K must be from 0 to 3`},
		{in: "0/0", err: `shard "0/0": N must be at least 1`},
		{in: "1", err: `shard "1": want K/N, such as 0/10 (K from 0 to N-1)`},
		{in: "a/b", err: `shard "a/b": want K/N, such as 0/10 (K from 0 to N-1)`},
	} {
		got, err := ParseShard(tc.in)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("ParseShard(%q) error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// N shards take every input exactly once, each shard in the list's order.
func TestShardsCoverTheList(t *testing.T) {
	files := []string{"a", "b", "c", "d", "e", "f", "g"}
	for n := 1; n <= 9; n++ {
		var all []string
		for k := range n {
			part := Shard{k, n}.Select(files)
			if !slices.IsSortedFunc(part, strings.Compare) {
				t.Errorf("shard %d/%d = %q, not in the list's order", k, n, part)
			}
			all = append(all, part...)
		}
		slices.Sort(all)
		if !slices.Equal(all, files) {
			t.Errorf("%d shards took %q", n, all)
		}
	}
}
