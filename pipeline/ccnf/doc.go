// Package ccnf holds OpenFace 2.2's CCNF (continuous conditional neural
// field) patch experts, the local detectors of the CLNF landmark fitter: it
// reads the binary patch-expert files (one per patch scale) and computes,
// for every landmark visible in the current view, the response map of its
// expert around the landmark's current position.
//
// The computation follows OpenFace's ResponseOpenBlas path operation by
// operation in float32: the area of interest is sampled with OpenCV's
// fixed-point warpAffine (1/32-pixel bilinear weights), every 11×11 patch is
// contrast-normalised to unit L2 norm, the neuron pre-activations are the
// float32 FMA chains that OpenBLAS 0.3.21's small-matrix sgemm kernel
// computes on the reference machine (including its 16-lane dot products for
// a short tail of rows), the sigmoids are evaluated in float64 and summed
// into float32, and the result is multiplied by the expert's Sigma (the
// inverse of 2·(Σα·I + Σβ_b·S_b), computed with OpenCV's float Cholesky and
// cached per expert and window size, as OpenFace caches it).
//
// The arithmetic in those orders (FMA chains and lanes, the Cholesky
// inverse) comes from package exactmath. On amd64 CPUs with AVX2 and FMA3
// the hot loops run as assembly that performs the same float operations
// lane by lane, eight response positions at a time: the area is spread
// into bands in which every patch pixel lies at an offset linear in the
// position, so the patch statistics and the neuron chains read the
// patches directly and normalise them on the fly instead of storing
// im2col; the sigmoids use math.Exp's own instructions four at a time; the
// warp gathers its taps eight pixels at a time. Portable Go computes the
// same bits elsewhere, and the tests hold both to a frozen copy of the
// earlier code.
//
// What a new process would otherwise compute from the files can be
// prepared once and mapped read-only by every process: the Sigmas of a
// window size (WriteSigmaTable, AttachSigmaTable) and the experts' weight
// panels (WritePanelTable, LoadWithPanels).
//
// A Scale is safe for concurrent use. A Workspace holds the scratch memory
// of Response calls and must not be shared by concurrent calls.
package ccnf
