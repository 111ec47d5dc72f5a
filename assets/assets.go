// Package assets embeds FaceMirror's resources: the application icon,
// drawn by the genicon program (regenerate with `go generate ./assets`).
package assets

//go:generate go run ./genicon -o icon.png -size 512

import (
	"bytes"
	_ "embed"
)

//go:embed icon.png
var iconPNG []byte

// IconPNG returns the application icon, a 512×512 PNG with transparent
// corners. Each call returns a fresh copy.
func IconPNG() []byte { return bytes.Clone(iconPNG) }
