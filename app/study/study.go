// Package study runs FaceMirror over studies too big for one command:
// input lists (ReadList), shards of a list that the jobs of a cluster
// scheduler's array take one each (Shard), the record each shard leaves in
// the output folder (Record), and the account of a whole study across its
// shards (Check): which inputs are done, which failed and why, which are
// missing.
package study

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ReadList reads an input list: one path per line, as given (relative
// paths are the caller's to resolve), blank lines skipped. A line is taken
// whole, spaces included, but for a trailing carriage return, so that
// lists written on Windows work.
func ReadList(r io.Reader) ([]string, error) {
	var files []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		files = append(files, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return files, nil
}

// Shard is the K-th of N shards of an input list: the inputs at positions
// K, K+N, K+2N, ... (from 0), so that N runs with K = 0 ... N-1 take every
// input exactly once whatever their order, and a run re-submitted with the
// same K and N takes the same inputs.
type Shard struct{ K, N int }

// ParseShard parses "K/N".
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	kk, errK := strconv.Atoi(strings.TrimSpace(k))
	nn, errN := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case !ok || errK != nil || errN != nil:
		return Shard{}, fmt.Errorf("shard %q: want K/N, such as 0/10 (K from 0 to N-1)", s)
	case nn < 1:
		return Shard{}, fmt.Errorf("shard %q: N must be at least 1", s)
	case kk < 0 || kk >= nn:
		return Shard{}, fmt.Errorf("shard %q: K must be from 0 to %d", s, nn-1)
	}
	return Shard{K: kk, N: nn}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Select returns the shard's inputs, in their order.
func (s Shard) Select(files []string) []string {
	var out []string
	for i := s.K; i < len(files); i += s.N {
		out = append(out, files[i])
	}
	return out
}
