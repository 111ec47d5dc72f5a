// Package cvparallel sets how OpenCV spreads its own functions over
// threads.
//
// Debian's OpenCV runs functions such as cvtColor on a TBB thread pool.
// FaceMirror's helpers already keep every core busy with their own
// goroutines (decoding ahead, tracking, the AU stage, the patch experts),
// and between OpenCV's calls TBB's worker spins in sched_yield: on v01 it
// made 9,000 such calls and took 2 % of the run's CPU for a grey
// conversion that one thread does in a fraction of a millisecond.
package cvparallel
