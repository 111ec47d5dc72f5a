#!/usr/bin/env bash
# Opens the real FaceMirror window (needs DISPLAY; see with-display.sh) with a
# few of the shared test videos pre-added, waits until it has rendered and
# saves a screenshot. Usage: screenshot.sh BINARY OUT.png [FILE...]
set -euo pipefail

bin=$1
out=$2
shift 2
shared=$(cd "$(dirname "$0")/../.." && pwd)/shared/media
if [ $# -eq 0 ]; then
	set -- "$shared/videos/v01_talking_frontal_glasses_480x360.mp4" \
		"$shared/derived/d01_portrait_rot90_meta_h264_stored1280x720.mp4" \
		"$shared/bad/b03_random_bytes_1MiB.mp4"
fi

"$bin" "$@" >/tmp/facemirror-screenshot.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT

if ! win=$(timeout 60 xdotool search --sync --onlyvisible --name '^FaceMirror$' | head -n1); then
	echo "screenshot: the FaceMirror window did not appear within 60 s; its log:" >&2
	cat /tmp/facemirror-screenshot.log >&2
	exit 1
fi
# Let probing and face detection finish (they run in the background).
sleep "${SCREENSHOT_WAIT:-8}"
# Capture the screen and cut out the window: capturing the window itself
# fails on some GL windows under Xvfb.
eval "$(xdotool getwindowgeometry --shell "$win")"
import -window root -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$out"
echo "screenshot: $out ($(identify -format '%wx%h' "$out"))"
