#!/usr/bin/env bash
# Speed figures, on one core (-cpu 1) as OpenFace runs: Go benchmarks of the
# per-frame stages, printed as milliseconds per frame; then whole videos
# through the process command with one and two helpers (frames/s and peak
# memory of all processes together: proportional set size, and resident
# set size summed). Nothing here is a pass/fail test;
# targets are in the issue tracker and the README.
set -euo pipefail
cd "$(dirname "$0")/.."

run() { # package pattern benchtime
	go test -run '^$' -bench "$2" -benchtime "$3" -benchmem -cpu 1 "$1" | tee -a out/bench.txt |
		awk '/^Benchmark/ { $2 = ""; $3 = sprintf("%.3f ms/op", $3 / 1e6); $4 = ""; print "  " $0 }'
}

mkdir -p out
: >out/bench.txt
echo "MTCNN face detection through ONNX Runtime, one thread (aim: < 15 ms at 640x360, < 40 ms at 1920x1080)"
run ./pipeline/mtcnn/ 'DetectORT' 30x
echo "Video decoding"
run ./pipeline/video/ '.' 3x
echo "Landmark tracking, one tracked frame (v01: small face; v04: large face with the part models)"
run ./pipeline/clnf/ 'Track' 60x
echo "Per-frame AU analysis of one tracked frame (re-fit, alignment, FHOG, pose)"
run ./pipeline/openface/ 'Analyse/all' 200x
echo "FHOG of one aligned 112x112 face"
run ./pipeline/fhog/ 'Extract$' 2000x
echo "Helper round trip and first-frame detection through a helper"
run ./app/ 'DetectFirstFrame' 10x
run ./app/ 'FrameWire' 200x
run ./app/worker/ '.' 200x
echo "Whole videos: facemirror process --mode aus, start-up included (OpenFace 2.2 on one core:"
echo "v01 4.4-4.9 s, about 65 frames/s; d04 13.6 s, about 35 frames/s; peak memory 448 MB)"
test -x ./facemirror || { echo "./facemirror is missing: run make bench, which builds it" >&2; exit 1; }
shared=${FACEMIRROR_SHARED:-../shared}
for video in videos/v01_talking_frontal_glasses_480x360.mp4 derived/d04_emotions_upscaled_1920x1080_19.7s.mp4; do
	for workers in 1 2; do
		name=$(basename "$video")
		printf '  %s, %d helper(s): ' "${name%%_*}" "$workers"
		./facemirror process --mode aus --out out/bench-process --workers "$workers" --quiet --stats "$shared/media/$video" |
			tee -a out/bench.txt | sed -n 's/^stats: //p'
	done
done
echo "(full output: out/bench.txt)"
