//go:build unix && !linux

package worker

// osHandlers are test handlers that need Linux; there are none elsewhere.
func osHandlers() map[string]Handler { return nil }
