package main

import (
	"context"
	"image"

	"facemirror/app"
	"facemirror/ui/backend"
)

// desktopBackend presents app.Desktop to the window in the window's own
// plain types; it is the only place that knows both.
type desktopBackend struct{ d *app.Desktop }

func (b desktopBackend) Probe(ctx context.Context, path string) (backend.Probe, error) {
	info, err := b.d.Probe(ctx, path)
	if err != nil {
		return backend.Probe{}, err
	}
	return backend.Probe{
		Frames:   info.Frames,
		FPS:      info.FPS.Float(),
		Duration: info.Duration,
		Width:    info.Width,
		Height:   info.Height,
		Rotation: info.Rotation,
	}, nil
}

func (b desktopBackend) Thumbnail(ctx context.Context, path string) (image.Image, *backend.FaceBox, error) {
	frame, face, err := b.d.FirstFrame(ctx, path)
	if err != nil || face == nil {
		return frame, nil, err
	}
	box := face.Box
	return frame, &backend.FaceBox{
		X: float64(box.X), Y: float64(box.Y), Width: float64(box.W), Height: float64(box.H),
		Confidence: float64(face.Confidence),
	}, nil
}

func (b desktopBackend) About(ctx context.Context) ([]backend.Fact, error) {
	facts, err := b.d.About(ctx)
	out := make([]backend.Fact, len(facts))
	for i, f := range facts {
		out[i] = backend.Fact{Name: f.Name, Value: f.Value}
	}
	return out, err
}
