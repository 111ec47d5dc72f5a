package cnn

import "testing"

// TestPortableKernels runs the oracle comparisons with the assembly
// kernels switched off, so the portable loops that other CPUs use are held
// to the same results.
func TestPortableKernels(t *testing.T) {
	if !simd {
		t.Skip("the assembly kernels are off on this CPU anyway")
	}
	simd = false
	defer func() { simd = true }()
	t.Run("pool and PReLU", TestPoolAndPReLUMatchOracle)
	t.Run("networks", TestWorkspaceMatchesOracle)
}
