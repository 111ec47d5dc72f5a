// Package localefix keeps the GUI toolkit from logging a spurious error at
// start-up under the "C.UTF-8" locale (the default of many containers and
// servers): Fyne's locale lookup reads it as the language tag "C" and logs
// "Error parsing user locale C" in every process of the binary, helpers and
// command-line runs included.
//
// Importing this package for its side effect sets LANGUAGE=en when the
// locale is C.* and LANGUAGE is unset, before Fyne initialises: Go
// initialises packages in import-path order among those whose dependencies
// are ready, and "facemirror/..." sorts before "fyne.io/...", while this
// package depends on nothing of Fyne. LANGUAGE only chooses message
// translations (C.* has none), so nothing else changes.
package localefix

import (
	"os"
	"strings"
)

func init() {
	if os.Getenv("LANGUAGE") != "" {
		return
	}
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		if strings.HasPrefix(v, "C.") {
			os.Setenv("LANGUAGE", "en")
		}
		return
	}
}
