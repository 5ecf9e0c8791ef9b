#!/usr/bin/env bash
# Publishes appliance-runtime as the device runs it: NativeAOT (trimmed, self-contained, no JIT), for this machine's
# architecture, into out/runtime/RID/. Prints the program's path. Usage: bash kits/runtime/publish.sh
# Needs a C toolchain for the native link (gcc, libc6-dev: .ci/packages.d/runtime.txt); about 3 to 6 minutes on 2 cores.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
case $(uname -m) in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) echo "publish.sh: no NativeAOT target for $(uname -m) here" >&2; exit 2 ;;
esac
out=$repo/out/runtime/$rid
command -v gcc >/dev/null || { echo "publish.sh: gcc is not installed (the NativeAOT link needs it: apt-get install gcc libc6-dev)" >&2; exit 2; }
rm -rf "$out"
dotnet publish "$repo/src/ClusterRuntime" -c Release -r "$rid" -p:PublishAot=true -o "$out" -nologo -clp:ErrorsOnly >&2
# the debug symbols (twice the program's size) and the XML docs stay out of what a device gets
rm -f "$out"/*.dbg "$out"/*.pdb "$out"/*.xml
echo "$out/appliance-runtime"
