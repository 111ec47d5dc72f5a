#!/usr/bin/env bash
# The real window, driven as a clinician would (needs DISPLAY; see
# with-display.sh): FaceMirror opens with two dev videos (copies, so that
# the outputs land beside them and not in ../shared), Ctrl+Enter starts the
# full pipeline, File ▸ Export AU CSV (Ctrl+E) saves through the native
# dialog, and the screenshots taken while it works and at the end are
# checked (scripts/checkshot). Usage: window-test.sh BINARY OUTDIR
set -euo pipefail

bin=$(realpath "$1")
out=$(realpath "$2")
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared/media
mkdir -p "$out"
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/in" "$work/config" "$work/export"
for v in videos/v01_talking_frontal_glasses_480x360.mp4 videos/v04_eyeclosure_cheekpuff_smile_glasses_512x480.mp4; do
	[ -f "$shared/$v" ] || { echo "window-test: $shared/$v is missing" >&2; exit 1; }
	cp "$shared/$v" "$work/in/"
done

fail() {
	echo "window-test: $*; the app's log:" >&2
	cat "$work/log" >&2
	exit 1
}

# A fresh preferences folder: the defaults (full pipeline, outputs beside
# each video, one helper per core), whatever this machine's user chose.
XDG_CONFIG_HOME=$work/config "$bin" "$work"/in/*.mp4 >"$work/log" 2>&1 &
pid=$!
win=$(timeout 60 xdotool search --sync --onlyvisible --name '^FaceMirror$' | head -n1) ||
	fail "the window did not appear within 60 s"
shot() {
	eval "$(xdotool getwindowgeometry --shell "$win")"
	# Capturing the window itself fails on some GL windows under Xvfb.
	import -window root -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$1"
}

# Probing and the first-frame face search run first.
sleep 5
xdotool windowactivate --sync "$win" >/dev/null 2>&1 || true
xdotool key --window "$win" ctrl+Return
sleep 7
shot "$out/window-running.png"
cp "$out/window-running.png" "$out/window.png"

for _ in $(seq 240); do
	n=$(find "$work/in" -name '*_facemirror.json' | wc -l)
	[ "$n" -ge 2 ] && break
	sleep 0.5
done
[ "$n" -ge 2 ] || fail "the run did not finish within 120 s"
sleep 2
shot "$out/window-done.png"

# ONNX Runtime (the first frames' face search) runs in the helpers only:
# accelerated providers have crashed whole processes.
grep -q libonnxruntime "/proc/$pid/maps" && fail "the window's own process has ONNX Runtime loaded"
loaded=0
for kid in $(awk -v p="$pid" '{ if ($4 == p) print $1 }' /proc/[0-9]*/stat 2>/dev/null); do
	grep -q libonnxruntime "/proc/$kid/maps" 2>/dev/null && loaded=$((loaded + 1))
done
echo "window-test: ONNX Runtime is loaded in $loaded helper(s), not in the window's process"

# Close the summary (its Close button has the focus first) and export.
xdotool key --window "$win" Escape
sleep 0.5
xdotool key --window "$win" ctrl+e
# GTK names the dialog's window "Save File" whatever its title.
dlg=$(timeout 20 xdotool search --sync --onlyvisible --name '^(Export AU CSV|Save File)$' | head -n1) ||
	fail "the save dialog did not appear"
sleep 1
# GTK ignores synthetic key events sent to a window; type into the focus.
xdotool windowfocus --sync "$dlg" >/dev/null 2>&1 || true
xdotool key ctrl+a
xdotool type --delay 20 "$work/export/study.csv"
xdotool key Return
for _ in $(seq 40); do [ -f "$work/export/study.csv" ] && break; sleep 0.5; done
[ -f "$work/export/study.csv" ] || fail "no export was written"
sleep 1
shot "$out/window-exported.png"
cp "$work/export/study.csv" "$out/window-export.csv"

# How long the window's updates waited for the UI goroutine during the run.
grep -h 'window: run' "$work/log" || true

cd "$root"
go run ./scripts/checkshot -running "$out/window-running.png" -done "$out/window-exported.png" \
	-csv "$out/window-export.csv" -frames 300,587
