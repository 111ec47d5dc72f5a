//go:build (linux || freebsd || netbsd || openbsd || dragonfly) && !android

package ui

/*
#include <locale.h>
static void facemirror_numeric_c(void) { setlocale(LC_NUMERIC, "C"); }
*/
import "C"

// The native dialog library initialises GTK when the program starts, and
// GTK adopts the user's locale for the whole process. A decimal comma in
// LC_NUMERIC would then change how C libraries linked into the same
// binary (OpenCV, FFmpeg) print and parse numbers, so number formatting is
// put back to the C convention; GTK's dialogs do not depend on it.
func init() { C.facemirror_numeric_c() }
