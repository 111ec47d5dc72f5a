//go:build faultcampaign

package job

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"facemirror/app/internal/faultinject"
)

// TestFaultCampaign is `make test-faults` (not in CI: about ten minutes):
// FACEMIRROR_FAULT_RUNS runs (default 20), each with one fault drawn at
// random (seeded by FACEMIRROR_FAULT_SEED, else the clock; the seed is
// printed so that a failing campaign can be run again): the mode, the
// fault, which input it strikes, at which frame, and whether it strikes
// once or in every helper. Each run is checked as TestHelperFaults checks
// its cases; a table of cases, runs and runs that passed ends the output.
func TestFaultCampaign(t *testing.T) {
	runs := envInt(t, "FACEMIRROR_FAULT_RUNS", 20)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("FACEMIRROR_FAULT_SEED"); v != "" {
		seed = uint64(envInt(t, "FACEMIRROR_FAULT_SEED", 0))
	}
	fmt.Printf("fault campaign: %d runs, FACEMIRROR_FAULT_SEED=%d\n", runs, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	modes := faultModes
	clean := map[faultMode]faultRun{}
	type tally struct{ runs, passed int }
	table := map[string]*tally{}
	for i := range runs {
		mode := modes[rng.IntN(len(modes))]
		kinds := faultinject.Kinds()
		plan := faultinject.Plan{
			Kind:  kinds[rng.IntN(len(kinds))],
			Video: filepath.Base([]string{mode.struck(), otherVideo}[rng.IntN(2)]),
			// Both inputs have more frames than this.
			Frame: 1 + rng.IntN(60),
			Times: 1,
		}
		if rng.IntN(4) == 0 {
			plan.Times = 0
		}
		if _, ok := clean[mode]; !ok {
			clean[mode] = runFaulted(t, mode, nil)
		}
		strikes := "once"
		if plan.Times == 0 {
			strikes = "every helper"
		}
		name := fmt.Sprintf("%02d-%s-%s-frame%d-%s", i+1, mode, plan.Kind, plan.Frame, strings.ReplaceAll(strikes, " ", "-"))
		ok := t.Run(name, func(t *testing.T) {
			checkFaulted(t, clean[mode], runFaulted(t, mode, &plan), plan)
		})
		key := fmt.Sprintf("%-9s  %-8s  %-12s", mode, plan.Kind, strikes)
		if table[key] == nil {
			table[key] = &tally{}
		}
		table[key].runs++
		if ok {
			table[key].passed++
		}
	}
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("\n%-9s  %-8s  %-12s  %4s  %s\n", "mode", "fault", "strikes", "runs", "as a clean run (or the expected error)")
	total, passed := 0, 0
	for _, k := range keys {
		fmt.Printf("%s  %4d  %d\n", k, table[k].runs, table[k].passed)
		total += table[k].runs
		passed += table[k].passed
	}
	fmt.Printf("%-33s  %4d  %d\n", "all", total, passed)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}
