#!/usr/bin/env bash
# Builds the agent benchmark in Release and runs it (as root: it starts containerd). Usage: bench/agent/run.sh [--rounds 5] [--layers 4] [--layer-mib 50]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dotnet build "$here/AgentBench/AgentBench.csproj" -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet "$here/AgentBench/bin/Release/net10.0/AgentBench.dll" "$@"
