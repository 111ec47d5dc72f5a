//go:build !unix

package mmapfile

import "os"

func open(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &File{data: data, unmap: func() error { return nil }}, nil
}
