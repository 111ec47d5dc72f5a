package worker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ProtocolVersion is the version of the helper protocol this build speaks.
// Both sides must speak the same version; see the package documentation for
// what changes it.
const ProtocolVersion = 2

// MaxFrameSize is the largest payload a frame may carry. It is far above any
// real message, so a larger length means the stream is not the protocol.
const MaxFrameSize = 64 << 20

// Message types.
const (
	typeHello     = "hello"
	typeRequest   = "request"
	typeCancel    = "cancel"
	typeShutdown  = "shutdown"
	typeEvent     = "event"
	typeHeartbeat = "heartbeat"
	typeResult    = "result"
	typeError     = "error"
)

// Error codes a helper attaches to a failed request.
const (
	// CodeFailed is the code of a handler error that carries no other code.
	CodeFailed = "failed"
	// CodeCanceled means the request was cancelled before it finished.
	CodeCanceled = "canceled"
	// CodePanic means the handler panicked; the helper recovered and lives on.
	CodePanic = "panic"
	// CodeBadRequest means the request's data did not decode.
	CodeBadRequest = "bad_request"
	// CodeUnknownKind means the helper has no handler for the request kind.
	CodeUnknownKind = "unknown_kind"
)

// Hello is the handshake payload each side sends first.
type Hello struct {
	// Protocol is the sender's ProtocolVersion.
	Protocol int `json:"protocol"`
	// Program and Version name the sending binary, for messages only.
	Program string `json:"program,omitempty"`
	Version string `json:"version,omitempty"`
	// PID is the sender's process id.
	PID int `json:"pid,omitempty"`
	// Kinds lists the request kinds a helper serves (helper only).
	Kinds []string `json:"kinds,omitempty"`
}

// message is one frame's payload.
type message struct {
	Type  string          `json:"type"`
	ID    uint64          `json:"id,omitempty"`
	Kind  string          `json:"kind,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error *wireError      `json:"error,omitempty"`
	// bin marks an event whose Data are bytes of the handler's own
	// encoding, framed without JSON (see binaryMark). A binary event to
	// send may give its data as parts instead, concatenated in the frame.
	bin   bool
	parts [][]byte
}

// binaryMark starts the payload of a binary event, which no JSON payload
// can start with. The payload is the mark, the request id (8 bytes, big
// endian), the kind's length (1 byte), the kind and the data. Analysed
// frames stream as binary events: as JSON their 20 KB would be base64,
// scanned twice on each side and a third larger on the pipe.
const binaryMark = 0

// binaryHeader is the length of a binary event's payload before its kind.
const binaryHeader = 1 + 8 + 1

// wireError is a failed request's error as it crosses the pipe.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// garbageError says the byte stream is not the protocol.
type garbageError struct{ detail string }

func (e *garbageError) Error() string { return e.detail }

// encodeFrame returns the frame for m: length prefix and payload in one
// buffer, so that a single Write puts the whole frame on the pipe.
func encodeFrame(m *message) ([]byte, error) {
	if m.bin {
		return encodeBinary(m)
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s message: %w", m.Type, err)
	}
	if len(payload) > MaxFrameSize {
		return nil, fmt.Errorf("encode %s message: %d bytes exceed the frame limit of %d", m.Type, len(payload), MaxFrameSize)
	}
	buf := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(buf, uint32(len(payload)))
	copy(buf[4:], payload)
	return buf, nil
}

// encodeBinary is encodeFrame for a binary event.
func encodeBinary(m *message) ([]byte, error) {
	if len(m.Kind) > 255 {
		return nil, fmt.Errorf("encode %.20s... event: a binary event's kind has at most 255 bytes, not %d", m.Kind, len(m.Kind))
	}
	parts := m.parts
	if len(parts) == 0 {
		parts = [][]byte{m.Data}
	}
	n := binaryHeader + len(m.Kind)
	for _, p := range parts {
		n += len(p)
	}
	if n > MaxFrameSize {
		return nil, fmt.Errorf("encode %s event: %d bytes exceed the frame limit of %d", m.Kind, n, MaxFrameSize)
	}
	buf := make([]byte, 4, 4+n)
	binary.BigEndian.PutUint32(buf, uint32(n))
	buf = append(buf, binaryMark)
	buf = binary.BigEndian.AppendUint64(buf, m.ID)
	buf = append(buf, byte(len(m.Kind)))
	buf = append(buf, m.Kind...)
	for _, p := range parts {
		buf = append(buf, p...)
	}
	return buf, nil
}

// decodeBinary reads a binary event's payload; its data share the
// payload's memory.
func decodeBinary(payload []byte) (*message, error) {
	if len(payload) < binaryHeader || len(payload) < binaryHeader+int(payload[binaryHeader-1]) {
		return nil, &garbageError{fmt.Sprintf("binary frame payload %s is shorter than its header", quoteStart(payload))}
	}
	k := binaryHeader + int(payload[binaryHeader-1])
	m := &message{Type: typeEvent, ID: binary.BigEndian.Uint64(payload[1:9]), Kind: string(payload[binaryHeader:k]), Data: payload[k:], bin: true}
	if m.ID == 0 || m.Kind == "" {
		return nil, &garbageError{fmt.Sprintf("binary frame payload %s has no request id or no kind", quoteStart(payload))}
	}
	return m, nil
}

// readFrame reads one message. It returns io.EOF when the stream ends
// cleanly between frames, io.ErrUnexpectedEOF when it ends inside one, and a
// *garbageError when the bytes are not a frame.
func readFrame(r io.Reader) (*message, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrameSize {
		return nil, &garbageError{fmt.Sprintf("frame header %q announces %d bytes (limit %d)", hdr[:], n, MaxFrameSize)}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if len(payload) > 0 && payload[0] == binaryMark {
		return decodeBinary(payload)
	}
	var m message
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, &garbageError{fmt.Sprintf("frame payload %s is not a message: %v", quoteStart(payload), err)}
	}
	if m.Type == "" {
		return nil, &garbageError{fmt.Sprintf("frame payload %s has no message type", quoteStart(payload))}
	}
	return &m, nil
}

// quoteStart quotes the beginning of a payload for an error message.
func quoteStart(b []byte) string {
	const max = 40
	if len(b) > max {
		return fmt.Sprintf("%q...", b[:max])
	}
	return fmt.Sprintf("%q", b)
}
