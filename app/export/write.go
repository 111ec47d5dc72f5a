package export

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"

	"facemirror/internal/atomicfile"
)

// writeAtomic writes path through fill, never leaving it half written (see
// package internal/atomicfile): on any error path is left as it was.
func writeAtomic(path string, fill func(*csv.Writer) error) error {
	err := atomicfile.Write(path, func(bw *bufio.Writer) error {
		w := csv.NewWriter(bw)
		if err := fill(w); err != nil {
			return err
		}
		w.Flush()
		return w.Error()
	})
	var ce *atomicfile.CreateError
	if errors.As(err, &ce) {
		return fmt.Errorf("cannot create a file in folder %s: %w", ce.Dir, ce.Err)
	}
	return err
}
