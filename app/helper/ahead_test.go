package helper

import (
	"context"
	"errors"
	"io"
	"testing"

	"facemirror/internal/sharedtest"
	"facemirror/pipeline/video"
)

// The reader ahead gives the frames of a range in order with the pixels a
// plain read gives, tells the video's end when it meets it, and can be
// closed at any point, also after its context ended.
func TestAheadReader(t *testing.T) {
	path := sharedtest.Media(t, "videos/v01_talking_frontal_glasses_480x360.mp4")
	ctx := context.Background()
	plain, err := video.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()

	cases := []struct {
		name      string
		end, stop int // stop: frames taken before close; -1 for all
		cancel    bool
		wantTotal int
		wantEnded bool
	}{
		{"whole video", 1 << 30, -1, false, 300, true},
		{"range ending before the video", 120, -1, false, 0, false},
		{"closed early", 1 << 30, 5, false, 0, false},
		{"context ended", 1 << 30, 3, true, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := video.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			a := newAheadReader(cctx, r, tc.end)
			got := 0
			for tc.stop < 0 || got < tc.stop {
				fr, err := a.next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if fr.frame.Index != got {
					t.Fatalf("frame %d came as frame %d", got, fr.frame.Index)
				}
				if got < 3 {
					// The first frames against a plain read.
					want, err := plain.Read()
					if err != nil {
						t.Fatal(err)
					}
					same := want.Mat.Rows() == fr.mat.Rows() && string(want.Mat.ToBytes()) == string(fr.mat.ToBytes())
					want.Mat.Close()
					if !same {
						t.Fatalf("frame %d differs from a plain read", got)
					}
				}
				a.release(fr.mat)
				got++
			}
			if tc.cancel {
				cancel()
				if _, err := a.next(); err == nil {
					// Frames decoded before the end may still come; the
					// reader must end all the same.
					for err == nil {
						var fr aheadFrame
						fr, err = a.next()
						if err == nil {
							a.release(fr.mat)
						}
					}
				}
			}
			total, ended, _ := a.close()
			if tc.stop < 0 && got != min(tc.end, 300) {
				t.Errorf("%d frames, want %d", got, min(tc.end, 300))
			}
			if total != tc.wantTotal || ended != tc.wantEnded {
				t.Errorf("end (%d, %v), want (%d, %v)", total, ended, tc.wantTotal, tc.wantEnded)
			}
			if err := plain.Seek(0); err != nil {
				t.Fatal(err)
			}
		})
	}
}
