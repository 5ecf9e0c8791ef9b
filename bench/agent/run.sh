#!/usr/bin/env bash
# The agent benchmarks (as root: they start containerd). Usage: bench/agent/run.sh [import|runtime] [options]
#   import  [--rounds 5] [--layers 4] [--layer-mib 50]   preloaded-image import against ctr (AgentBench)
#   runtime [--rounds 3] [--pods 30]                      the agent's RSS, start to Ready, pods to Running (runtime.sh)
# With no verb both run, each with its defaults.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mode=all
case ${1:-} in import|runtime) mode=$1; shift ;; esac
if [ $mode != runtime ]; then
  dotnet build "$here/AgentBench/AgentBench.csproj" -c Release -nologo -clp:ErrorsOnly >/dev/null
  dotnet "$here/AgentBench/bin/Release/net10.0/AgentBench.dll" "$@"
fi
if [ $mode != import ]; then
  dotnet build "$repo/src/ClusterRuntime/ClusterRuntime.csproj" -c Release -nologo -clp:ErrorsOnly >/dev/null
  bash "$here/runtime.sh" "$@" "$repo/src/ClusterRuntime/bin/Release/net10.0/appliance-runtime.dll"
fi
