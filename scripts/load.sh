#!/usr/bin/env bash
# Part of make bench: a batch of 100 short videos (four development videos
# under 25 names each; LOAD_REPEAT=N for N names each) in one process
# command, mode aus, two helpers. At
# the 10th, 25th, 50th, 75th and 95th finished video it prints the
# proportional set size of the command and its helpers together, the
# command's open file descriptors, its helper processes and the videos per
# second since the last mark; after the command, the processes of it left
# running (there must be none). Memory, descriptors and helpers should be
# flat from the 10th video on, and the rate steady.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=$(cd "${SHARED:-../shared}" && pwd)
work=$(mktemp -d /tmp/facemirror-load.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/in" "$work/out"
videos=(videos/v10_grid_talking_frontal_mpeg1_360x288.mpg edge/e01_neutral_to_smile_2.4s_mp3audio_640x360.mp4
	bad/b10_one_frame_real_face_480x360.mp4 bad/b07_tiny_32x32_real_face_3s.mp4)
for i in $(seq -w 1 "${LOAD_REPEAT:-25}"); do
	for v in "${videos[@]}"; do
		name=$(basename "$v")
		ln -s "$shared/media/$v" "$work/in/${i}_$name"
	done
done

# pss PID...: the summed proportional set size of the processes, in MB.
pss() {
	local total=0 kb
	for p in "$@"; do
		kb=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		total=$((total + ${kb:-0}))
	done
	echo $((total / 1024))
}
# children PID: the processes whose parent is PID.
children() { awk -v p="$1" '{ if ($4 == p) print $1 }' /proc/[0-9]*/stat 2>/dev/null || true; }

./facemirror process --quiet --workers 2 --out "$work/out" "$work"/in/* >"$work/log" 2>&1 &
pid=$!
start=$(date +%s.%N)
last=$start
lastn=0
echo "  videos done   PSS (MB): all   command   helpers   open fds   helpers   videos/s since the last line"
total=$((4 * ${LOAD_REPEAT:-25}))
for mark in 10 $((total / 4)) $((total / 2)) $((total * 3 / 4)) $((total - 5)); do
	while :; do
		n=$(find "$work/out" -maxdepth 1 -name '*_facemirror.json' | wc -l)
		[ "$n" -ge "$mark" ] && break
		kill -0 "$pid" 2>/dev/null || break 2
		sleep 0.05
	done
	now=$(date +%s.%N)
	kids=$(children "$pid" | tr '\n' ' ')
	helpers=0
	for k in $kids; do
		grep -qa '^worker' <(tr '\0' '\n' <"/proc/$k/cmdline" 2>/dev/null | sed -n 2p) && helpers=$((helpers + 1)) || true
	done
	fds=$( (ls "/proc/$pid/fd" 2>/dev/null || true) | wc -l)
	# shellcheck disable=SC2086
	printf "  %11d   %13d   %7d   %7d   %8d   %7d   %.1f\n" "$n" "$(pss "$pid" $kids)" "$(pss "$pid")" "$(pss $kids)" "$fds" "$helpers" \
		"$(awk -v a="$last" -v b="$now" -v n=$((n - lastn)) 'BEGIN { print n / (b - a) }')"
	last=$now
	lastn=$n
done
status=0
wait "$pid" || status=$?
end=$(date +%s.%N)
sleep 0.5
left=$( (grep -las "$work" /proc/[0-9]*/cmdline || true) | wc -l)
echo "  $(find "$work/out" -maxdepth 1 -name '*.csv' | wc -l) CSVs in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s (exit status $status); processes of the command left running: $left"
