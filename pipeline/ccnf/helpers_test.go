package ccnf

import "facemirror/pipeline/pdm"

func pdmEuler(x, y, z float32) pdm.Euler { return pdm.Euler{X: x, Y: y, Z: z} }
