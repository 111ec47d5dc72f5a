#!/usr/bin/env bash
# Runs a command with a display: the current one when DISPLAY works, else a
# private Xvfb server that is stopped afterwards.
set -euo pipefail

if [ -n "${DISPLAY:-}" ] && xdpyinfo >/dev/null 2>&1; then
	exec "$@"
fi
num=${XVFB_DISPLAY:-99}
while [ -e "/tmp/.X11-unix/X$num" ] || [ -e "/tmp/.X$num-lock" ]; do num=$((num + 1)); done
Xvfb ":$num" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; wait $xvfb 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	[ -e "/tmp/.X11-unix/X$num" ] && break
	sleep 0.1
done
export DISPLAY=":$num"
"$@"
