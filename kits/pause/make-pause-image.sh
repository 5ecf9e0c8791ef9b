#!/usr/bin/env bash
# Builds the pause image archive (docker.io/appliance/pause, see README.md) from Debian's static catatonit.
# Usage: kits/pause/make-pause-image.sh [OUTDIR]   (default ~/.cache/appliance/pause-v1); prints the archive's path.
# Idempotent and cached like tests/fixtures/make-images.sh, whose private apt (tests/fixtures/debs.sh) it uses.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=docker.io/appliance/pause:catatonit-0.1.7
cache=${APPLIANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/appliance}
out=${1:-$cache/pause-v1}
debs=$cache/debs
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
archive=$out/pause.oci.tar

if [ -f "$out/.complete" ]; then echo "$archive"; exit 0; fi
mkdir -p "$debs"
exec 9>"$cache/make-images.lock"
flock 9
if [ -f "$out/.complete" ]; then echo "$archive"; exit 0; fi

. "$here/../../tests/fixtures/debs.sh"
fetch_debs catatonit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unpack_debs catatonit "$work"

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
python3 "$here/make_pause_image.py" "$work" "$out.tmp/pause.oci.tar" "$name"
rm -rf "$out"
mv "$out.tmp" "$out"
touch "$out/.complete"
echo "$archive"
