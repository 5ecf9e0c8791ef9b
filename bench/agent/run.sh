#!/usr/bin/env bash
# The agent benchmarks (as root: they start containerd). Usage: bench/agent/run.sh [import|runtime] [options]
#   import  [--rounds 5] [--layers 4] [--layer-mib 50]   preloaded-image import against ctr (AgentBench)
#   runtime [--rounds 3] [--pods 30] [--jit]              the agent's RSS, start to Ready, pods to Running (runtime.sh)
#           of the published program a device runs (kits/runtime/publish.sh, NativeAOT); --jit: of the built dll instead
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
  args=() jit=
  for a in "$@"; do if [ "$a" = --jit ]; then jit=1; else args+=("$a"); fi; done
  program=$(bash "$repo/bench/runtime-program.sh" ${jit:+--jit})
  bash "$here/runtime.sh" "${args[@]}" "$program"
fi
