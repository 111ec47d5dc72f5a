package mtcnn

import (
	"sync"
	"time"

	"facemirror/internal/hugemem"
)

// keepBigFrame is how long the float image of a frame larger than
// maxPooledPixels is kept after its detection for the next one. A tracker
// that has lost the face detects every second frame, then every twelfth;
// at the speed frames are processed both are far less than this apart.
// Mapping and faulting in a fresh buffer for each of those detections
// made e02 (960x540, the face lost half way) 7 % slower. A tracker that
// follows its face detects rarely, and the buffer goes back to the system
// soon after.
const keepBigFrame = 500 * time.Millisecond

// bigFrames hands out the float image buffers of frames larger than
// maxPooledPixels and keeps the last one returned for keepBigFrame.
type bigFrames struct {
	mu    sync.Mutex
	idle  *hugemem.Buffer
	timer *time.Timer
}

// get returns a buffer of n values: the kept one if it has that size.
// Its contents are whatever the last detection left.
func (b *bigFrames) get(n int) *hugemem.Buffer {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.idle != nil && len(b.idle.Data) == n {
		buf := b.idle
		b.idle = nil
		return buf
	}
	return hugemem.Alloc(n)
}

// put keeps buf for the next detection, in place of any buffer kept
// before, and frees it keepBigFrame after the last put.
func (b *bigFrames) put(buf *hugemem.Buffer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.idle != nil {
		b.idle.Free()
	}
	b.idle = buf
	if b.timer == nil {
		b.timer = time.AfterFunc(keepBigFrame, b.release)
	} else {
		b.timer.Reset(keepBigFrame)
	}
}

// release frees the kept buffer.
func (b *bigFrames) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.idle != nil {
		b.idle.Free()
		b.idle = nil
	}
}
