#!/usr/bin/env bash
# Builds appliance-runtime in Release and runs the server benchmark. Usage: bench/runtime/run.sh [--idle-seconds N] [--objects N] [--writers N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dotnet build "$repo/src/ClusterRuntime/ClusterRuntime.csproj" -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build "$here/RuntimeBench/RuntimeBench.csproj" -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet "$here/RuntimeBench/bin/Release/net10.0/RuntimeBench.dll" "$repo/src/ClusterRuntime/bin/Release/net10.0/appliance-runtime.dll" "$@"
