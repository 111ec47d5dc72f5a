#!/usr/bin/env bash
# Speed figures, on one core (-cpu 1) as OpenFace runs: Go benchmarks of the
# per-frame stages, printed as milliseconds per frame. Nothing here is a
# pass/fail test; targets are in the issue tracker and the README.
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
echo "FHOG of one aligned 112x112 face"
run ./pipeline/fhog/ 'Extract$' 2000x
echo "Helper round trip and first-frame detection through a helper"
run ./app/ 'DetectFirstFrame' 10x
run ./app/worker/ '.' 200x
echo "(full output: out/bench.txt)"
