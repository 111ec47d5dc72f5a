#!/usr/bin/env bash
# Installs everything FaceMirror needs to build, run and test on Debian 12
# (as root, or with sudo). Idempotent: it only installs what is missing, so
# `make run` and `make test` can call it every time.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

apt_pkgs=(
	build-essential pkg-config git ca-certificates
	libopencv-dev                            # gocv v0.31.0 builds against OpenCV 4.6
	libgl1-mesa-dev xorg-dev libgl1-mesa-dri # Fyne
	libgtk-3-dev                             # native file dialog (sqweek/dialog)
	ffmpeg xvfb xauth x11-utils xdotool imagemagick # tests, screenshots
)
command -v npm >/dev/null 2>&1 || apt_pkgs+=(npm) # fetches ONNX Runtime

missing=()
for p in "${apt_pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
		sudo=sudo
	fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go: the machine's toolchain (Debian 12's own golang is too old for go.mod).
GO=${GO:-go}
if ! command -v "$GO" >/dev/null 2>&1; then
	[ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go || {
		echo "deps: Go 1.26 or newer is required (not found on PATH or in /usr/local/go)" >&2
		exit 1
	}
fi
want_minor=26
have=$("$GO" env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "$have" -lt "$want_minor" ]; then
	echo "deps: Go 1.$want_minor or newer is required, found $("$GO" env GOVERSION)" >&2
	exit 1
fi

"$root/scripts/ort.sh"
