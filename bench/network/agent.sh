#!/usr/bin/env bash
# The real agent with 100 Services x 10 endpoints: its RSS before and after, the time until its nftables table and its
# DNS server have them, and dnsperf against its DNS address from a pod namespace. Root; run through run.sh agent.
# Usage: bench/network/run.sh agent [--services 100] [--endpoints 10] [--seconds 5]
set -euo pipefail
services=100 endpoints=10 seconds=5 dll=
while [ $# -gt 0 ]; do
  case $1 in
    --services) services=$2; shift 2 ;;
    --endpoints) endpoints=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    -*) echo "agent.sh: unknown option $1" >&2; exit 2 ;;
    *) dll=$1; shift ;;
  esac
done
[ -f "$dll" ] || { echo "agent.sh: give the built appliance-runtime.dll or the published appliance-runtime" >&2; exit 2; }
# a .dll runs on the shared runtime (JIT); the published program (NativeAOT) runs by itself
if [[ $dll == *.dll ]]; then runtime=(dotnet "$dll"); else runtime=("$dll"); fi
[ "$(id -u)" = 0 ] || { echo "agent.sh: needs root (network namespaces)" >&2; exit 2; }

ns=agnet-$$ pod=agnet-$$-pod
base=$(mktemp -d /tmp/agnet.XXXX)
server_pid= agent_pid=
in_ns=(ip netns exec $ns)
kc() { env HOME="$base" "${in_ns[@]}" kubectl --kubeconfig "$base/s/kubeconfig.yaml" --server https://10.99.0.1:6443 --cache-dir "$base/kc" --request-timeout 30s "$@"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
sample_rss() { local i; for ((i = 0; i < 5; i++)); do rss_kb "$agent_pid"; sleep 1; done | median; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
stop_pid() { [ -n "$1" ] && kill -TERM "$1" 2>/dev/null && { for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -KILL "$1"; } || true; }
cleanup() {
  set +e
  stop_pid "$agent_pid"
  # What the agent left in the namespace goes with it; --cleanup is what a real node runs.
  "${in_ns[@]}" "${runtime[@]}" agent --cleanup --data-dir "$base/a" >/dev/null 2>&1
  stop_pid "$server_pid"
  ip netns delete $pod 2>/dev/null; ip netns delete $ns 2>/dev/null
  rm -rf "$base"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The node's namespace ($ns, 10.99.0.1 on its veth, the server on that address too) and a pod namespace ($pod,
# 10.99.0.2) routed to the cluster DNS address through the node: no default route anywhere.
ip netns add $ns; ip netns add $pod
ip -n $ns link set lo up; ip -n $pod link set lo up
ip link add eth0 netns $ns type veth peer name eth0 netns $pod
ip -n $ns addr add 10.99.0.1/24 dev eth0; ip -n $pod addr add 10.99.0.2/24 dev eth0
ip -n $ns link set eth0 up; ip -n $pod link set eth0 up
ip -n $pod route add 10.43.0.0/16 via 10.99.0.1

"${in_ns[@]}" "${runtime[@]}" server --data-dir "$base/s" --https-listen-port 6443 --bind-address 10.99.0.1 --disable-agent >"$base/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do [ -f "$base/s/kubeconfig.yaml" ] && [ "$(kc get --raw /readyz 2>/dev/null)" = ok ] && break; sleep 0.2; done
# No containerd (a socket that does not exist): the node stays NotReady, the network part runs as on any node.
env ${AGENT_ENV:-} "${in_ns[@]}" "${runtime[@]}" agent --server https://10.99.0.1:6443 --token-file "$base/s/token" --data-dir "$base/a" --node-name bench-node \
  --container-runtime-endpoint unix:///run/agnet-no-runtime.sock --kubelet-port 0 >"$base/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 600); do
  "${in_ns[@]}" nft list table ip appliance >/dev/null 2>&1 && [ -n "$("${in_ns[@]}" dig +short +time=1 +tries=1 @10.43.0.10 kubernetes.default.svc.cluster.local)" ] && break
  kill -0 $agent_pid 2>/dev/null || { echo "agent.sh: the agent exited:" >&2; tail -20 "$base/agent.log" >&2; exit 1; }
  sleep 0.2
done
# selector-less Services with hand-made EndpointSlices: exactly the objects the agent watches, no pods needed
objects() { # $1 count, $2 endpoints, $3 name prefix, $4 third octet of the ClusterIPs
python3 - "$@" <<'EOF'
import json, sys
n, m, prefix, net = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
items = []
for i in range(n):
    items.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"{prefix}{i}", "namespace": "bench"},
                  "spec": {"clusterIP": f"10.43.{net + i // 250}.{i % 250 + 1}", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    items.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": f"{prefix}{i}-x", "namespace": "bench",
                  "labels": {"kubernetes.io/service-name": f"{prefix}{i}"}}, "addressType": "IPv4",
                  "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                  "endpoints": [{"addresses": [f"10.42.{i % 250}.{j + 2}"], "nodeName": "bench-node", "conditions": {"ready": True}} for j in range(m)]})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
EOF
}
# Waits until the agent's table and DNS have Service $1 with ClusterIP $2 ($3 endpoints); sets rules and dns (ms).
wait_taken() {
  rules= dns=
  for _ in $(seq 1200); do
    [ -z "$rules" ] && "${in_ns[@]}" nft list chain ip appliance "cluster-bench/$1/tcp/80" 2>/dev/null | grep -q "mod $3" && rules=$(now_ms)
    [ -z "$dns" ] && [ "$("${in_ns[@]}" dig +short +time=1 +tries=1 @10.43.0.10 $1.bench.svc.cluster.local)" = "$2" ] && dns=$(now_ms)
    [ -n "$rules" ] && [ -n "$dns" ] && return 0
    sleep 0.05
  done
  echo "agent.sh: the agent did not take Service $1 within 60 s" >&2; tail -20 "$base/agent.log" >&2; exit 1
}
kc create namespace bench >/dev/null
# Warm-up: one Service of two endpoints, so the idle figure includes the code paths (JIT) the Services use.
objects 1 2 warm 99 >"$base/warm.json"
kc create --validate=false -f "$base/warm.json" >/dev/null
wait_taken warm0 10.43.99.1 2
echo "real agent, $services Services x $endpoints endpoints (load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
sleep 10
idle=$(sample_rss)

objects "$services" "$endpoints" s 100 >"$base/objects.json"
last=$((services - 1))
t0=$(now_ms)
kc create --validate=false -f "$base/objects.json" >/dev/null
t1=$(now_ms)
wait_taken s$last "10.43.$((100 + last / 250)).$((last % 250 + 1))" "$endpoints"
sleep 10
loaded=$(sample_rss)

for i in $(seq 0 $last); do echo "s$i.bench.svc.cluster.local A"; done >"$base/queries"
perf=$(ip netns exec $pod dnsperf -s 10.43.0.10 -d "$base/queries" -l "$seconds" -q 100 -t 2 -v)
qps=$(echo "$perf" | awk '/Queries per second:/ {printf "%.0f", $4}')
lost=$(echo "$perf" | awk '/Queries lost:/ {print $3}')
lat=$(echo "$perf" | awk '$1 == ">" {print $NF * 1000}' | sort -n)
pct() { awk -v q="$1" '{v[NR] = $1} END {i = int(q * NR + 0.999999); if (i < 1) i = 1; printf "%.3f", v[i]}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

echo
echo "| figure | value |"
echo "|---|---|"
echo "| agent RSS, one warm-up Service (10 s after, median of 5 samples) | $(mib "$idle") |"
echo "| agent RSS with $services Services x $endpoints endpoints (10 s after they arrived) | $(mib "$loaded") (+$(mib $((loaded - idle)))) |"
echo "| kubectl create of the $((services * 2)) objects | $((t1 - t0)) ms |"
echo "| creation to the last Service's rules in nftables / to its name in the agent's DNS | $((rules - t0)) / $((dns - t0)) ms (polled every 50 ms) |"
echo "| dnsperf from the pod namespace against the agent's DNS ($services Service names, 100 outstanding, $seconds s) | $qps q/s, p50 $(echo "$lat" | pct 0.5) ms, p99 $(echo "$lat" | pct 0.99) ms, lost $lost |"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
