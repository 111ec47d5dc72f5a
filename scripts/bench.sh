#!/usr/bin/env bash
# Speed figures. First Go benchmarks of the per-frame stages on one core
# (-cpu 1), printed as milliseconds per frame; then whole videos through
# the process command in each mode, timed in the same run as OpenFace 2.2
# itself (../shared/oracle) on the same machine, printed as ratios, with
# the peak memory of all processes together (proportional set size).
# Nothing here is a pass/fail test; targets are in the issue tracker and
# the README.
set -euo pipefail
cd "$(dirname "$0")/.."

run() { # package pattern benchtime
	go test -run '^$' -bench "$2" -benchtime "$3" -benchmem -cpu 1 "$1" | tee -a out/bench.txt |
		awk '/^Benchmark/ { $2 = ""; $3 = sprintf("%.3f ms/op", $3 / 1e6); $4 = ""; print "  " $0 }'
}

mkdir -p out
: >out/bench.txt
# BENCH_VIDEOS_ONLY=1 skips the per-stage Go benchmarks.
if [ "${BENCH_VIDEOS_ONLY:-}" != 1 ]; then
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
fi
test -x ./facemirror || { echo "./facemirror is missing: run make bench, which builds it" >&2; exit 1; }
shared=${FACEMIRROR_SHARED:-../shared}
oracle=$shared/oracle/openface.sh
test -x "$oracle" || { echo "$oracle is missing: speed is only ever measured beside OpenFace" >&2; exit 1; }
work=out/bench-work
rm -rf "$work"; mkdir -p "$work"

# seconds CMD...: runs CMD, prints its wall time in seconds.
seconds() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >>out/bench.txt 2>&1
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# cputime CMD...: runs CMD, prints its wall time and the CPU seconds of it
# and its children (user + system).
cputime() {
	local TIMEFORMAT='%R %U %S' t
	t=$({ time "$@" >>out/bench.txt 2>&1; } 2>&1)
	awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.2f %.2f", a[1], a[2] + a[3] }'
}
# fm FILE ARGS...: times facemirror process --quiet ARGS (start-up
# included) and prints the seconds; then runs it again with --stats for
# the peak memory, kept in FILE: sampling the memory costs time itself.
fm() {
	local st=$1; shift
	seconds ./facemirror process --quiet "$@"
	./facemirror process --quiet --stats "$@" >"$st" 2>&1 || true
	cat "$st" >>out/bench.txt
}
# pss FILE: the peak proportional set size of a --stats line.
pss() { sed -n 's/.*peak memory \([0-9.]* MB\) (proportional.*/\1/p' "$1" | head -1; }
# startup FILE: the seconds from the command's exec to its first analysed
# frame, from a --stats line.
startup() { sed -n 's/.*first frame analysed \([0-9.]*\) s after.*/\1 s/p' "$1" | head -1; }

# The oracle's first call installs its libraries; its first timed run must
# not pay for that (nor for a cold disk cache of its binary and models).
"$oracle" "$shared/media/bad/b10_one_frame_real_face_480x360.mp4" "$work/of-warm-up" >>out/bench.txt 2>&1

echo
echo "Whole videos beside OpenFace 2.2 ($oracle), timed in this run on this machine, start-up included."
echo "Ratios are OpenFace's time over FaceMirror's (above 1: FaceMirror is faster)."
for video in videos/v01_talking_frontal_glasses_480x360.mp4 derived/d04_emotions_upscaled_1920x1080_19.7s.mp4; do
	name=$(basename "$video"); short=${name%%_*}; stem=${name%.*}
	src=$shared/media/$video
	of=$(seconds "$oracle" "$src" "$work/of-$short")
	echo "  $short: OpenFace $of s"
	for workers in 1 2; do
		st=$work/aus-$short-$workers.txt
		t=$(fm "$st" --mode aus --out "$work/aus-$short" --workers "$workers" "$src")
		echo "    aus, whole video, $workers helper(s): $t s, $(ratio "$of" "$t")x OpenFace; peak $(pss "$st") (PSS, all processes); first frame analysed $(startup "$st") after the start"
	done
	st=$work/mirror-$short.txt
	t=$(fm "$st" --mode mirror --out "$work/mirror-$short" "$src")
	dur=$(./facemirror probe --json "$src" | sed -n 's/.*"duration": *\([0-9.]*\).*/\1/p' | head -1)
	echo "    mirror: $t s ($(ratio "$dur" "$t")x real time; $(ratio "$of" "$t")x OpenFace on the source); peak $(pss "$st")"
	st=$work/full-$short.txt
	t=$(fm "$st" --mode full --out "$work/full-$short" "$src")
	# What the predecessor did after mirroring: OpenFace on each mirrored video, one after the other.
	ofl=$(seconds "$oracle" "$work/full-$short/${stem}_left_mirrored.mp4" "$work/of-$short-left")
	ofr=$(seconds "$oracle" "$work/full-$short/${stem}_right_mirrored.mp4" "$work/of-$short-right")
	of2=$(awk -v a="$ofl" -v b="$ofr" 'BEGIN { printf "%.2f", a + b }')
	echo "    full: $t s; OpenFace on both mirrored videos $of2 s: $(ratio "$of2" "$t")x; peak $(pss "$st")"
	# The least mode full can cost: its three exact analyses (the source's
	# and each mirrored face's, which must equal mode aus on that video)
	# measured as mode aus on the source and on both mirrored videos, in
	# CPU seconds, less the two extra start-ups; on 2 cores even a perfect
	# overlap with no mirroring or encoding needs half of that.
	read -r _ c0 <<<"$(cputime ./facemirror process --quiet --workers 1 --out "$work/floor-$short" "$src")"
	read -r _ cl <<<"$(cputime ./facemirror process --quiet --workers 1 --out "$work/floor-$short" "$work/full-$short/${stem}_left_mirrored.mp4")"
	read -r _ cr <<<"$(cputime ./facemirror process --quiet --workers 1 --out "$work/floor-$short" "$work/full-$short/${stem}_right_mirrored.mp4")"
	read -r _ cs <<<"$(cputime ./facemirror process --quiet --workers 1 --out "$work/floor-$short" "$shared/media/bad/b10_one_frame_real_face_480x360.mp4")"
	floor=$(awk -v a="$c0" -v b="$cl" -v c="$cr" -v s="$cs" 'BEGIN { printf "%.2f", a + b + c - 2 * s }')
	# And the H.264 encoding of its three videos with x264's fastest
	# preset, as FaceMirror's encoders run it, fed raw frames by a
	# decoder whose own time is not counted.
	enc=0
	for out in left_mirrored right_mirrored debug; do
		f=$work/full-$short/${stem}_$out.mp4
		size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$f")
		c=$(ffmpeg -v error -i "$f" -f rawvideo -pix_fmt yuv420p - |
			{ TIMEFORMAT='%U %S'; time ffmpeg -v error -f rawvideo -pix_fmt yuv420p -s "$size" -r 30 -i - \
				-c:v libx264 -preset ultrafast -crf 18 -threads 1 -f null - 2>>out/bench.txt; } 2>&1 | awk '{ print $1 + $2 }')
		enc=$(awk -v a="$enc" -v b="$c" 'BEGIN { printf "%.2f", a + b }')
	done
	best=$(awk -v f="$floor" -v e="$enc" 'BEGIN { printf "%.2f", (f + e) / 2 }')
	echo "    full's floor: its three exact analyses take $floor CPU s (mode aus on the source and both mirrored videos, less two start-ups), x264 ultrafast on its three videos $enc CPU s; on 2 cores at best $best s: $(ratio "$of2" "$best")x"
done

echo
echo "Mode aus (OpenFace's CSV, the default settings) beside OpenFace 2.2: wall time and CPU seconds (user +"
echo "system, all processes); the aims are 3x the speed on v01 and d04, 2x on e02 and e03, and half the CPU."
for video in videos/v01_talking_frontal_glasses_480x360.mp4 derived/d04_emotions_upscaled_1920x1080_19.7s.mp4 \
	edge/e02_face_then_noface_hevc_vfr_audiofirst_960x540.mov edge/e03_noface_animation_caminandes_960x540.mp4; do
	name=$(basename "$video"); short=${name%%_*}
	src=$shared/media/$video
	read -r ofw ofc <<<"$(cputime "$oracle" "$src" "$work/of-cpu-$short")"
	read -r fmw fmc <<<"$(cputime ./facemirror process --quiet --out "$work/aus-cpu-$short" "$src")"
	echo "  $short: OpenFace $ofw s, $ofc CPU s; FaceMirror $fmw s, $fmc CPU s: $(ratio "$ofw" "$fmw")x the speed, $(ratio "$fmc" "$ofc") of the CPU"
done
echo
echo "Load: 100 short videos (four development videos under 25 names each) in one command, mode aus, 2 helpers."
SHARED=$shared scripts/load.sh
echo "(full output: out/bench.txt)"
