//go:build !linux

package job

import "errors"

// killHelper needs /proc to find the helpers.
func killHelper() error { return errors.New("finding helper processes needs Linux's /proc") }
