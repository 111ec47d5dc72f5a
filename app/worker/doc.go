// Package worker runs heavy work (ONNX Runtime, face models) in helper
// processes and talks to them over a small framed protocol on the helpers'
// standard input and output.
//
// The window and the command line never load ONNX Runtime themselves:
// accelerated execution providers have crashed whole processes, and a crash in
// a helper must cost no more than a retry. A helper is the same binary started
// as "facemirror worker" (on Linux forked from internal/forkserver's server
// when it can, which spares it the binary's 0.3 s of dynamic loading, and
// executed otherwise); [Start] supervises one, [Pool] keeps several and
// retries a request once on a fresh helper when its helper dies. The helper
// side is [Serve] with one [Handler] per request kind.
//
// # Framing
//
// Both directions carry frames: a 4-byte big-endian unsigned length n
// followed by n bytes of payload, with n at most [MaxFrameSize]. The payload
// is one JSON object, a message:
//
//	{"type": "...", "id": 7, "kind": "detect", "data": {...}, "error": {"code": "...", "message": "..."}}
//
// Fields that do not apply are left out. An event may instead be binary
// ([Call.EmitBytes]), for large payloads that JSON would carry as base64: its
// payload starts with a zero byte, then the request id (8 bytes, big
// endian), the kind's length (1 byte), the kind and the data as the handler
// encoded them ([Event.Binary]). A frame whose length exceeds the
// limit, or whose payload is not a message, is garbage: the other side treats
// the stream as broken (the client kills the helper). Stray writes to a
// helper's standard output would corrupt the stream, so a helper serving on
// its real standard output first calls [ReserveStdout], which points file
// descriptor 1 at standard error and keeps a private copy for the protocol.
//
// # Versioning and handshake
//
// The client speaks first with a "hello" message (id 0) whose data is a
// [Hello] carrying [ProtocolVersion]. The helper always answers with its own
// "hello", then stops if the versions differ; the client compares them and
// reports a mismatch as [ErrVersion]. Any change to framing or to the meaning
// of an existing message or request kind increments the version; new request
// kinds and new optional fields do not, because a helper answers an unknown
// kind with the error code "unknown_kind" and JSON ignores unknown fields.
// The helper's hello also lists the request kinds it serves.
//
// # Messages
//
// Client to helper:
//   - hello: handshake, id 0.
//   - request: id > 0, unique per connection and chosen by the client; kind
//     names the handler; data is the kind's JSON request.
//   - cancel: id of a request in flight. The helper cancels the handler's
//     context; the request still ends with a final message (normally an error
//     with code "canceled").
//   - shutdown: no more requests. The helper cancels requests in flight,
//     waits for their handlers to return and exits with status 0. Closing the
//     helper's standard input means the same, so a helper whose parent died
//     goes away by itself.
//
// Helper to client:
//   - hello: the handshake answer.
//   - event: id of a request; kind names the event (for example "frame");
//     data is its JSON. Zero or more per request, in order, before the final
//     message: streamed partial results and progress.
//   - heartbeat: id of a request; no data. Says the handler is alive during a
//     long step that has nothing to report ([Call.Alive]).
//   - result: id of a request; data is the kind's JSON result. Final.
//   - error: id of a request; error carries a machine-readable code and a
//     human-readable message (the handler's error text). Final. An error with
//     id 0 means the helper rejected the connection.
//
// Each request gets exactly one final message. Requests on one connection may
// run concurrently; their messages interleave but stay in order per request.
//
// # Errors and crashes
//
// A handler's error reaches the caller as a [*RemoteError] with the code
// given by [Coded] (or "failed", "canceled", "panic", "bad_request",
// "unknown_kind"); the helper lives on and the request is not retried. A
// panic inside a handler's own goroutine is recovered into code "panic".
//
// Anything that breaks the helper itself is a [*HelperError] and fails every
// request in flight on that helper:
//   - the process exited or was killed by a signal: "helper exited: signal:
//     segmentation fault", "helper exited: exit status 3". The Go runtime
//     ends a crashing helper (a panic, or a segmentation fault inside C code
//     such as an execution provider) with status 2 after printing why; the
//     first line of that report is added: "helper exited: exit status 2
//     (SIGSEGV: segmentation violation)", "... (panic: ...)";
//   - it sent garbage, spoke another protocol version, or did not answer the
//     handshake in time;
//   - it stopped answering: a request in flight that sees no event,
//     heartbeat or final message for [Options.Timeout] gets "helper stopped
//     answering for 30s".
//
// In every such case the client kills the helper's whole process group and
// reaps it, so no call hangs and no zombie remains; the helper's last stderr
// lines are in [HelperError.Stderr]. Cancelling the context given to [Start]
// does the same. [Pool] replaces a failed helper and retries the request
// once; a second failure is returned.
package worker
