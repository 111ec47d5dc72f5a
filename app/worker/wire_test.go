package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	msgs := []*message{
		{Type: typeHello, Data: json.RawMessage(`{"protocol":1}`)},
		{Type: typeRequest, ID: 7, Kind: "detect", Data: json.RawMessage(`{"path":"v.mp4","frames":[0,5]}`)},
		{Type: typeError, ID: 7, Error: &wireError{Code: "no_face", Message: "no face found"}},
		{Type: typeShutdown},
	}
	var buf bytes.Buffer
	for _, m := range msgs {
		b, err := encodeFrame(m)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	for _, want := range msgs {
		got, err := readFrame(&buf)
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Errorf("read %s, want %s", gj, wj)
		}
	}
	if _, err := readFrame(&buf); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
}

// A binary event crosses as its bytes, beside JSON messages, and comes
// out marked binary; bytes that happen to look like JSON stay bytes.
func TestBinaryEventRoundTrip(t *testing.T) {
	msgs := []*message{
		{Type: typeEvent, ID: 3, Kind: "frame", Data: []byte{0, 1, 2, 255}, bin: true},
		{Type: typeEvent, ID: 3, Kind: "progress", Data: json.RawMessage(`{"index":1}`)},
		{Type: typeEvent, ID: 1 << 40, Kind: "mirrored", Data: []byte(`{"not":"json to us"}`), bin: true},
		{Type: typeEvent, ID: 9, Kind: "empty", bin: true},
	}
	got := readAll(t, frames(t, msgs...))
	if len(got) != len(msgs) {
		t.Fatalf("read %d messages, want %d", len(got), len(msgs))
	}
	for i, want := range msgs {
		if g := got[i]; g.Type != want.Type || g.ID != want.ID || g.Kind != want.Kind || g.bin != want.bin || !bytes.Equal(g.Data, want.Data) {
			t.Errorf("read %+v, want %+v", g, want)
		}
	}
	// Data given in parts arrive as one.
	parted := readAll(t, frames(t, &message{Type: typeEvent, ID: 4, Kind: "frame", parts: [][]byte{{1, 2}, nil, {3}}, bin: true}))
	if len(parted) != 1 || !parted[0].bin || !bytes.Equal(parted[0].Data, []byte{1, 2, 3}) {
		t.Errorf("an event sent in parts read back as %+v", parted)
	}
	if _, err := encodeFrame(&message{Type: typeEvent, ID: 1, Kind: string(make([]byte, 256)), bin: true}); err == nil {
		t.Error("a binary event with a 256-byte kind was encoded")
	}
}

func TestFrameErrors(t *testing.T) {
	whole, _ := encodeFrame(&message{Type: typeEvent, ID: 1, Kind: "frame"})
	cases := []struct {
		name    string
		in      []byte
		garbage string // the garbage detail, or "" for a plain error
		err     error
	}{
		{"truncated header", whole[:2], "", io.ErrUnexpectedEOF},
		{"truncated payload", whole[:len(whole)-1], "", io.ErrUnexpectedEOF},
		{"text", []byte("panic: oh no\n"), `frame header "pani" announces 1885433449 bytes (limit 67108864)`, nil},
		{"not json", append([]byte{0, 0, 0, 3}, "abc"...), `frame payload "abc" is not a message: invalid character 'a' looking for beginning of value`, nil},
		{"no type", append([]byte{0, 0, 0, 2}, "{}"...), `frame payload "{}" has no message type`, nil},
		{"binary, short header", []byte{0, 0, 0, 3, 0, 0, 1}, `binary frame payload "\x00\x00\x01" is shorter than its header`, nil},
		{"binary, short kind", []byte{0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 1, 5, 'f'}, `binary frame payload "\x00\x00\x00\x00\x00\x00\x00\x00\x01\x05f" is shorter than its header`, nil},
		{"binary, no id", []byte{0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'f'}, `binary frame payload "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01f" has no request id or no kind`, nil},
		{"binary, no kind", []byte{0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0}, `binary frame payload "\x00\x00\x00\x00\x00\x00\x00\x00\a\x00" has no request id or no kind`, nil},
	}
	for _, tc := range cases {
		_, err := readFrame(bytes.NewReader(tc.in))
		var g *garbageError
		switch {
		case tc.garbage != "":
			if !errors.As(err, &g) || g.detail != tc.garbage {
				t.Errorf("%s: %v, want garbage %q", tc.name, err, tc.garbage)
			}
		case !errors.Is(err, tc.err):
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

// frames encodes messages into one input stream for Serve.
func frames(t *testing.T, msgs ...*message) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	for _, m := range msgs {
		b, err := encodeFrame(m)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	return &buf
}

func readAll(t *testing.T, r io.Reader) []*message {
	t.Helper()
	var out []*message
	for {
		m, err := readFrame(r)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}

func TestServeRejectsAnotherProtocolVersion(t *testing.T) {
	hello, _ := json.Marshal(Hello{Protocol: ProtocolVersion + 1})
	var out bytes.Buffer
	err := Serve(context.Background(), frames(t, &message{Type: typeHello, Data: hello}), &out, ServerOptions{})
	if err == nil || err.Error() != fmt.Sprintf("client speaks protocol %d, this helper speaks protocol %d", ProtocolVersion+1, ProtocolVersion) {
		t.Errorf("error %v", err)
	}
	got := readAll(t, &out)
	var h Hello
	if len(got) != 1 || got[0].Type != typeHello || json.Unmarshal(got[0].Data, &h) != nil || h.Protocol != ProtocolVersion {
		t.Errorf("helper answered %+v, want its own hello", got)
	}
}

// Shutdown cancels requests in flight, and each still gets its final
// message before Serve returns.
func TestServeShutdownCancelsRequests(t *testing.T) {
	hello, _ := json.Marshal(Hello{Protocol: ProtocolVersion})
	started := make(chan struct{})
	handlers := map[string]Handler{
		"wait": func(ctx context.Context, call *Call) (any, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}
	inR, inW := io.Pipe()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), inR, &out, ServerOptions{Handlers: handlers, Version: "t"})
	}()
	io.Copy(inW, frames(t, &message{Type: typeHello, Data: hello}, &message{Type: typeRequest, ID: 1, Kind: "wait"}))
	<-started
	io.Copy(inW, frames(t, &message{Type: typeShutdown}))
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	got := readAll(t, &out)
	if len(got) != 2 || got[1].Type != typeError || got[1].ID != 1 || got[1].Error.Code != CodeCanceled || got[1].Error.Message != "context canceled" {
		j, _ := json.Marshal(got)
		t.Errorf("messages %s", j)
	}
}
