#!/usr/bin/env bash
# Prints the appliance-runtime the benchmarks drive: by default the published program a device runs
# (kits/runtime/publish.sh, NativeAOT); with --jit the built dll on the shared runtime (run it with `dotnet DLL`).
# Usage: bash bench/runtime-program.sh [--jit]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --jit ]; then
  dotnet build "$repo/src/ClusterRuntime/ClusterRuntime.csproj" -c Release -nologo -clp:ErrorsOnly >&2
  echo "$repo/src/ClusterRuntime/bin/Release/net10.0/appliance-runtime.dll"
else
  bash "$repo/kits/runtime/publish.sh"
fi
