#!/usr/bin/env bash
# Puts the official ONNX Runtime 1.24.3 CPU library into .ort/ of the project,
# taken from the onnxruntime-node npm package (the only registry that ships
# the official build here), and checks its SHA-256.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=1.24.3
dest="$root/.ort/libonnxruntime.so.1"

case "$(uname -s)-$(uname -m)" in
Linux-x86_64)
	member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
	sha=92ba8e44d31b80a34f5e805076a044122c3be1fffe0d88ed790de7267b0b2682
	;;
*)
	echo "ort: no pinned ONNX Runtime build for $(uname -s)-$(uname -m); set FACEMIRROR_ORT_LIB to a libonnxruntime $version" >&2
	exit 1
	;;
esac

if [ -f "$dest" ] && echo "$sha  $dest" | sha256sum -c --status; then
	exit 0
fi

echo "ort: fetching ONNX Runtime $version (onnxruntime-node@$version)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
tar -xzf "$tmp/onnxruntime-node-$version.tgz" -C "$tmp" "$member"
if ! echo "$sha  $tmp/$member" | sha256sum -c --status; then
	echo "ort: $member from onnxruntime-node@$version has SHA-256 $(sha256sum "$tmp/$member" | cut -d' ' -f1), want $sha" >&2
	exit 1
fi
mkdir -p "$(dirname "$dest")"
cp "$tmp/$member" "$dest.tmp"
mv "$dest.tmp" "$dest"
echo "ort: installed $dest"
