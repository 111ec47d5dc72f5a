//go:build unix

package worker

import (
	"context"
	"fmt"
	"os"
	"testing"
)

func startBenchHelper(b *testing.B) *Client {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	c, err := Start(context.Background(), Options{Exe: exe, Env: append(os.Environ(), helperModeEnv+"=serve")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkCallRoundTrip measures the protocol's cost per request: one
// request to a real helper process and its result.
func BenchmarkCallRoundTrip(b *testing.B) {
	c := startBenchHelper(b)
	ctx := context.Background()
	for b.Loop() {
		if err := c.Call(ctx, "echo", testRequest{Text: "x"}, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvents measures streamed events: 1000 per request.
func BenchmarkEvents(b *testing.B) {
	c := startBenchHelper(b)
	ctx := context.Background()
	for b.Loop() {
		n := 0
		if err := c.Call(ctx, "echo", testRequest{N: 1000}, nil, func(Event) error { n++; return nil }); err != nil || n != 1000 {
			b.Fatal(err, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/event")
}

// BenchmarkStart measures starting a helper and its handshake.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		c := startBenchHelper(b)
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBinaryEvents measures streaming binary payloads of the size of
// an analysed frame (a FrameResult's 19.3 KB binary encoding), decoded on
// the client: the protocol's cost per frame, as binary events and as
// base64 in JSON events.
func BenchmarkBinaryEvents(b *testing.B) {
	const events, size = 300, 19300
	c := startBenchHelper(b)
	ctx := context.Background()
	for _, binary := range []bool{true, false} {
		name := "json"
		if binary {
			name = "binary"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				n := 0
				err := c.Call(ctx, "bulk", testRequest{N: events, Size: size, Binary: binary}, nil, func(e Event) error {
					got := len(e.Data)
					if !binary {
						var ev bulkEvent
						if err := e.Decode(&ev); err != nil {
							return fmt.Errorf("event %d: %v", n, err)
						}
						got = len(ev.Data)
					}
					if got != size {
						return fmt.Errorf("event %d: %d bytes", n, got)
					}
					n++
					return nil
				})
				if err != nil || n != events {
					b.Fatal(err, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
			b.SetBytes(events * size)
		})
	}
}
