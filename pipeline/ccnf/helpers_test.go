package ccnf

import (
	"math/rand"

	"facemirror/pipeline/pdm"
)

func pdmEuler(x, y, z float32) pdm.Euler { return pdm.Euler{X: x, Y: y, Z: z} }

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }
