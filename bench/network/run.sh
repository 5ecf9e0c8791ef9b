#!/usr/bin/env bash
# The network benchmarks (as root), inside network namespaces of their own: nothing of the host's network is touched.
# Usage: bench/network/run.sh [--rounds 30] [--services 100] [--endpoints 10]           (Service proxy rule updates)
#        bench/network/run.sh dns [--rounds 5] [--seconds 5] [--outstanding 100]         (cluster DNS against dnsmasq)
#        bench/network/run.sh agent [--services 100] [--endpoints 10] [--seconds 5] [--jit]
#            (the real agent, as published with NativeAOT, or with --jit the built dll: RSS, DNS; agent.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = agent ]; then
  shift
  for tool in ip nft dig dnsperf python3 kubectl; do command -v $tool >/dev/null || { echo "$tool is missing"; exit 1; }; done
  args=() jit=
  for a in "$@"; do if [ "$a" = --jit ]; then jit=1; else args+=("$a"); fi; done
  program=$(bash "$here/../runtime-program.sh" ${jit:+--jit})
  exec bash "$here/agent.sh" "${args[@]}" "$program"
fi
tools="nft iptables-restore ip"
[ "${1:-}" = dns ] && tools="ip dnsperf dnsmasq dig"
for tool in $tools; do command -v $tool >/dev/null || { echo "$tool is missing (.ci/packages.d/network.txt; dnsperf and dnsmasq: apt-get install dnsperf dnsmasq-base)"; exit 1; }; done
dotnet build "$here/ProxyBench/ProxyBench.csproj" -c Release -nologo -clp:ErrorsOnly | { grep -E "error|FAILED" && exit 1 || true; }
ns=pxbench-$$
ip netns add $ns
trap 'ip netns delete $ns; ip netns delete $ns-pod 2>/dev/null || true' EXIT
ip -n $ns link set lo up
if [ "${1:-}" = dns ]; then
  # The "pod" namespace the load comes from, joined to the servers' namespace by a veth pair (no default route anywhere).
  ip netns add $ns-pod
  ip -n $ns-pod link set lo up
  ip link add dns0 netns $ns type veth peer name eth0 netns $ns-pod
  ip -n $ns addr add 10.99.0.1/24 dev dns0
  ip -n $ns-pod addr add 10.99.0.2/24 dev eth0
  ip -n $ns link set dns0 up
  ip -n $ns-pod link set eth0 up
  export BENCH_POD_NETNS=$ns-pod
fi
ip netns exec $ns dotnet "$here/ProxyBench/bin/Release/net10.0/ProxyBench.dll" "$@"
