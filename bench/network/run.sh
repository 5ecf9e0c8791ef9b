#!/usr/bin/env bash
# The Service proxy benchmark (as root), inside a network namespace of its own: nothing of the host's rules is touched.
# Usage: bench/network/run.sh [--rounds 30] [--services 100] [--endpoints 10]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for tool in nft iptables-restore ip; do command -v $tool >/dev/null || { echo "$tool is missing (.ci/packages.d/network.txt)"; exit 1; }; done
dotnet build "$here/ProxyBench/ProxyBench.csproj" -c Release -nologo -clp:ErrorsOnly | { grep -E "error|FAILED" && exit 1 || true; }
ns=pxbench-$$
ip netns add $ns
trap 'ip netns delete $ns' EXIT
ip -n $ns link set lo up
ip netns exec $ns dotnet "$here/ProxyBench/bin/Release/net10.0/ProxyBench.dll" "$@"
