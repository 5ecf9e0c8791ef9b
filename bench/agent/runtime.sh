#!/usr/bin/env bash
# The agent's runtime figures: RSS idle and with 30 pods, start to node Ready (join, restart), pod creation to Running.
# Usage (root): bash bench/agent/run.sh runtime [--rounds 3] [--pods 30] [--keep DIR] [--agent-arg ARG]... [--agent-env K=V]...
#   (builds appliance-runtime, passes its dll last). --keep copies the logs (server, agents, containerd, pod watch)
#   into DIR before the clean-up; --agent-arg adds an argument to every agent start (e.g. --debug), --agent-env an
#   environment variable (e.g. DOTNET_PerfMapEnabled=1 for perf).
set -euo pipefail
rounds=3 pods=30 dll= keep= agent_args=() agent_env=()
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --pods) pods=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --agent-arg) agent_args+=("$2"); shift 2 ;;
    --agent-env) agent_env+=("$2"); shift 2 ;;
    -*) echo "runtime.sh: unknown option $1" >&2; exit 2 ;;
    *) dll=$1; shift ;;
  esac
done
if [ -z "$dll" ] || [ ! -f "$dll" ]; then echo "runtime.sh: give the built appliance-runtime.dll or the published appliance-runtime" >&2; exit 2; fi
# a .dll runs on the shared runtime (JIT); the published program (NativeAOT) runs by itself
if [[ $dll == *.dll ]]; then runtime=(dotnet "$dll"); else runtime=("$dll"); fi
[ "$(id -u)" = 0 ] || { echo "runtime.sh: needs root (network namespace, containerd)" >&2; exit 2; }
for tool in /usr/bin/containerd /usr/sbin/runc /usr/bin/nsenter /usr/bin/kubectl; do
  [ -x "$tool" ] || { echo "runtime.sh: $tool is not installed" >&2; exit 2; }
done
repo=$(cd "$(dirname "$0")/../.." && pwd)
pause=$(bash "$repo/kits/pause/make-pause-image.sh")
busybox=$(bash "$repo/tests/fixtures/make-images.sh")/busybox.oci.tar

id=$$
ns=agb-$id
base=$(mktemp -d /tmp/agb.XXXX)   # short: the agent's containerd socket lives under it (108-byte limit)
server_dir=$base/s
mkdir -p "$base/kc"
in_ns=(/usr/bin/nsenter --net=/run/netns/$ns)
server_pid= agent_pid= watch_pid=
agent_dirs=()

kubectl=(env HOME="$base/kc" "${in_ns[@]}" /usr/bin/kubectl --kubeconfig "$server_dir/kubeconfig.yaml" --cache-dir "$base/kc")
kc() { "${kubectl[@]}" --request-timeout 30s "$@"; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# CPU time (user + system, and that of reaped children: containerd's CNI plugins, the shims' runc) in 1/100 s
cpu_cs() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }; s=${s##*) }; set -- $s; echo $((${12} + ${13} + ${14} + ${15})); }
median() { sort -n | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# pids whose command line mentions $1 (this run's paths only, so other users' containerd and shims are never touched)
pids_with() { local p c; for p in /proc/[0-9]*; do c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") && [[ $c == *"$1"* ]] && echo "${p#/proc/}"; done; true; }
# this run's shims: their -address is the socket under an agent dir
shims() { local p c; for p in $(pids_with "$base/a"); do c=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") && [[ $c == *containerd-shim* ]] && echo "$p"; done; true; }

stop_pid() { # SIGTERM, then SIGKILL after $2 seconds (default 15)
  local pid=$1 wait=${2:-15} i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "  (pid $pid ignored SIGTERM for ${wait}s: SIGKILL)" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  set +e
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
  if [ -n "$keep" ]; then
    mkdir -p "$keep"
    cp "$base"/*.log "$base/podwatch" "$base/pods.json" "$keep/" 2>/dev/null
    for d in "${agent_dirs[@]}"; do cp "$d/containerd/containerd.log" "$keep/$(basename "$d").containerd.log" 2>/dev/null; done
  fi
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    kc delete pods --all -n bench --wait=false >/dev/null 2>&1
    # pods are removed from the API at once; the agent's kubelet then stops and removes their sandboxes
    for ((i = 0; i < 60; i++)); do [ -z "$(shims)" ] && break; sleep 0.5; done
  fi
  stop_pid "$agent_pid"
  for p in $(pids_with "$base/a"); do  # containerd (the agent stops it) and shims left behind
    echo "  leftover process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)" >&2
    stop_pid "$p" 5
  done
  stop_pid "$server_pid"
  # mounts under the dirs (rootfs, shm), deepest first
  awk -v b="$base/" 'index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  ip netns delete "$ns" 2>/dev/null
  rm -rf "$base"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns"
ip -n "$ns" link set lo up

# The server, in the namespace, on loopback.
port=6443
"${in_ns[@]}" "${runtime[@]}" server --data-dir "$server_dir" --https-listen-port $port --bind-address 127.0.0.1 --disable-agent \
  >"$base/server.log" 2>&1 &
server_pid=$!
for ((i = 0; i < 600; i++)); do
  [ -f "$server_dir/kubeconfig.yaml" ] && [ "$(kc get --raw /readyz 2>/dev/null)" = ok ] && break
  kill -0 $server_pid 2>/dev/null || { echo "runtime.sh: the server exited:" >&2; tail -20 "$base/server.log" >&2; exit 1; }
  sleep 0.2
done
kc create namespace bench >/dev/null

start_agent() { # $1 data dir, $2 node name; sets agent_pid
  env "${agent_env[@]}" "${in_ns[@]}" "${runtime[@]}" agent --server "https://127.0.0.1:$port" --token-file "$server_dir/token" \
    --data-dir "$1" --node-name "$2" "${agent_args[@]}" >>"$1.log" 2>&1 &
  agent_pid=$!
}

# Starts a watch whose lines are stamped with the local time (ms) when read: prints nothing, sets watch_pid.
watch_to() { # $1 file, then kubectl arguments
  local file=$1; shift
  : >"$file"
  (exec "${kubectl[@]}" "$@" -w) > >(while IFS= read -r line; do echo "$(now_ms) $line"; done >>"$file") 2>/dev/null &
  watch_pid=$!
}
# Waits until a line of $1 matches the regex $2 (at most $3 s) and prints its stamp.
wait_line() {
  local i line
  for ((i = 0; i < $3 * 10; i++)); do
    line=$(grep -E -m1 -- "$2" "$1" || true)
    [ -n "$line" ] && { echo "${line%% *}"; return 0; }
    kill -0 "$agent_pid" 2>/dev/null || { echo "runtime.sh: the agent exited:" >&2; tail -20 "$agent_dir.log" >&2; return 1; }
    sleep 0.1
  done
  echo "runtime.sh: no line matching '$2' within $3 s; last lines:" >&2; tail -5 "$1" >&2; tail -20 "$agent_dir.log" >&2
  return 1
}
ready_jsonpath='jsonpath={.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}'

echo "agent runtime figures ($rounds rounds, $pods pods; load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"

# 1. First start (join, containerd, preloaded images) to node Ready, each round a fresh data dir and node name.
join_ms=()
for ((r = 1; r <= rounds; r++)); do
  agent_dir=$base/a$r node=bench-$r
  agent_dirs+=("$agent_dir")
  mkdir -p "$agent_dir/images"
  cp "$pause" "$agent_dir/images/pause.oci.tar"
  cp "$busybox" "$agent_dir/images/busybox.oci.tar"
  watch_to "$base/watch" get nodes -o "$ready_jsonpath"
  sleep 1   # the watch is open before the agent starts
  t0=$(now_ms)
  start_agent "$agent_dir" "$node"
  t1=$(wait_line "$base/watch" "^[0-9]+ $node True\$" 120)
  kill "$watch_pid" 2>/dev/null; watch_pid=
  join_ms+=($((t1 - t0)))
  echo "  first start $r: $((t1 - t0)) ms"
  if [ $r -lt $rounds ]; then
    stop_pid "$agent_pid"; agent_pid=
    kc delete node "$node" >/dev/null
  fi
done

# The agent verb is meant to import DIR/images/ at start (Agent/README.md); where it did not, the bench imports the
# two archives with ctr, says so, and the first-start figures above do not include an import.
sock=$agent_dir/containerd/state/c.sock
if ! ctr -a "$sock" -n k8s.io images ls -q | grep -qx "docker.io/appliance/pause:catatonit-0.1.7"; then
  echo "  note: the agent did not import $agent_dir/images/ (pause image absent): imported with ctr for the pod figures"
  ctr -a "$sock" -n k8s.io images import --all-platforms "$pause" >/dev/null
  ctr -a "$sock" -n k8s.io images import "$busybox" >/dev/null
fi

# 2. RSS idle: node Ready, no pods; 10 s to settle, then 5 samples 1 s apart.
containerd_pid=$(pids_with "$agent_dir/containerd/config.toml" | head -1)
sample_rss() { # prints "agent containerd shims" medians in kB
  local a=() c=() s=() i p total
  for ((i = 0; i < 5; i++)); do
    a+=("$(rss_kb "$agent_pid")"); c+=("$(rss_kb "$containerd_pid")")
    total=0
    for p in $(shims); do total=$((total + $(rss_kb "$p"))); done
    s+=("$total")
    sleep 1
  done
  echo "$(printf '%s\n' "${a[@]}" | median) $(printf '%s\n' "${c[@]}" | median) $(printf '%s\n' "${s[@]}" | median)"
}
sleep 10
read -r idle_agent idle_containerd idle_shims < <(sample_rss)

# 3. Restart to node Ready: stop the agent, mark the node Ready=Unknown as the node controller does once the lease
#    runs out (so the figure is the agent's own report, not the previous run's), start it again.
restart_ms=()
for ((r = 1; r <= rounds; r++)); do
  stop_pid "$agent_pid"; agent_pid=
  ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  kc patch node "$node" --subresource=status --type=merge \
    -p "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\",\"reason\":\"NodeStatusUnknown\",\"message\":\"bench: agent stopped\",\"lastHeartbeatTime\":\"$ts\",\"lastTransitionTime\":\"$ts\"}]}}" >/dev/null
  watch_to "$base/watch" get nodes -o "$ready_jsonpath"
  sleep 1
  t0=$(now_ms)
  start_agent "$agent_dir" "$node"
  t1=$(wait_line "$base/watch" "^[0-9]+ $node True\$" 120)
  kill "$watch_pid" 2>/dev/null; watch_pid=
  restart_ms+=($((t1 - t0)))
  echo "  restart $r: $((t1 - t0)) ms"
done
containerd_pid=$(pids_with "$agent_dir/containerd/config.toml" | head -1)

# 4. Pods: $pods busybox pods created with one kubectl create (the scheduler binds them), watched until Running.
{
  echo '{"apiVersion": "v1", "kind": "List", "items": ['
  for ((i = 1; i <= pods; i++)); do
    [ $i -gt 1 ] && echo ','
    echo "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"sleep-$i\", \"namespace\": \"bench\"},
      \"spec\": {\"terminationGracePeriodSeconds\": 1, \"containers\": [{\"name\": \"sleep\",
        \"image\": \"example.local/fixtures/busybox:1.35\", \"imagePullPolicy\": \"Never\",
        \"command\": [\"/bin/busybox\", \"sleep\", \"3600\"]}]}}"
  done
  echo ']}'
} >"$base/pods.json"
watch_to "$base/podwatch" get pods -n bench -o 'jsonpath={.metadata.name} {.status.phase}{"\n"}'
sleep 1
cpu0_agent=$(cpu_cs "$agent_pid") cpu0_server=$(cpu_cs "$server_pid") cpu0_containerd=$(cpu_cs "$containerd_pid")
t_create=$(now_ms)
kc create --validate=false -f "$base/pods.json" >/dev/null
t_created=$(now_ms)
for ((i = 0; i < 600; i++)); do
  [ "$(awk '$3 == "Running" {print $2}' "$base/podwatch" | sort -u | wc -l)" -ge "$pods" ] && break
  kill -0 "$agent_pid" 2>/dev/null || { echo "runtime.sh: the agent exited" >&2; tail -20 "$agent_dir.log" >&2; exit 1; }
  sleep 0.1
done
t_running=$(now_ms)
cpu_agent=$(( $(cpu_cs "$agent_pid") - cpu0_agent )) cpu_server=$(( $(cpu_cs "$server_pid") - cpu0_server ))
cpu_containerd=$(( $(cpu_cs "$containerd_pid") - cpu0_containerd )) cpu_shims=0
for p in $(shims); do cpu_shims=$((cpu_shims + $(cpu_cs "$p"))); done
kill "$watch_pid" 2>/dev/null; watch_pid=
running=$(awk '$3 == "Running" {print $2}' "$base/podwatch" | sort -u | wc -l)
if [ "$running" -lt "$pods" ]; then
  echo "runtime.sh: $running of $pods pods Running after 60 s; watch and pods:" >&2
  tail -5 "$base/podwatch" >&2; kc get pods -n bench -o wide 2>&1 | head -4 >&2
  kc get pods -n bench -o jsonpath='{range .items[*]}{.status.containerStatuses[0].state.waiting.message}{"\n"}{end}' | sort | uniq -c | head -3 >&2
  tail -5 "$agent_dir.log" >&2; grep -i "level=error" "$agent_dir/containerd/containerd.log" | tail -3 >&2
fi
# watch-observed: first line of each pod (its ADDED event) to its first Running line
watch_lat=$(awk '!($2 in added) {added[$2] = $1} $3 == "Running" && !($2 in run) {run[$2] = $1; print $1 - added[$2]}' "$base/podwatch" | sort -n)
# API timestamps (1 s resolution): Ready condition's lastTransitionTime - creationTimestamp
api_lat=$(kc get pods -n bench -o json | jq -r '.items[] | select(.status.phase == "Running")
  | ((.status.conditions[] | select(.type == "Ready") | .lastTransitionTime | fromdate) - (.metadata.creationTimestamp | fromdate))' | sort -n)
pct() { awk -v q="$1" '{v[NR] = $1} END {if (NR == 0) {print "n/a"; exit} i = int(q * NR + 0.999999); if (i < 1) i = 1; print v[i]}'; }

sleep 5
read -r pods_agent pods_containerd pods_shims < <(sample_rss)
nshims=$(shims | wc -l)

mb() { awk -v k="$1" 'BEGIN {printf "%.1f MiB = %.1f MB", k / 1024, k * 1024 / 1e6}'; }
echo
echo "| figure | value |"
echo "|---|---|"
echo "| first start (join, containerd, images) to node Ready, median of $rounds | $(printf '%s\n' "${join_ms[@]}" | median) ms (${join_ms[*]}) |"
echo "| restart to node Ready, median of $rounds | $(printf '%s\n' "${restart_ms[@]}" | median) ms (${restart_ms[*]}) |"
echo "| agent RSS idle (node Ready, no pods), median of 5 samples | $(mb "$idle_agent") (goal <= 80 MB) |"
echo "| agent RSS with $running pods Running | $(mb "$pods_agent") |"
echo "| ratio against K3s's agent, 270 MB (anchor: K3s's published resource profiling, not measured here) | idle $(awk -v k="$idle_agent" 'BEGIN {printf "%.2f", k * 1024 / 270e6}'), $running pods $(awk -v k="$pods_agent" 'BEGIN {printf "%.2f", k * 1024 / 270e6}') |"
echo "| containerd RSS idle / with pods | $(mb "$idle_containerd") / $(mb "$pods_containerd") |"
echo "| shims' total RSS idle / with pods ($nshims shims) | $(mb "$idle_shims") / $(mb "$pods_shims") (sum of VmRSS) |"
echo "| pods Running / created | $running / $pods (kubectl create of the list took $((t_created - t_create)) ms) |"
echo "| creation to Running, watch-observed (ADDED to first Running event), p50 / p99 | $(echo "$watch_lat" | pct 0.5) / $(echo "$watch_lat" | pct 0.99) ms |"
echo "| creation to Running, API timestamps (Ready lastTransitionTime - creationTimestamp, 1 s resolution), p50 / p99 | $(echo "$api_lat" | pct 0.5) / $(echo "$api_lat" | pct 0.99) s |"
echo "| CPU from creation to all Running ($(( (t_running - t_create) / 1000 )) s wall, 2 cores): agent / server / containerd (with CNI plugins) / shims (with runc) | $(awk -v a=$cpu_agent -v b=$cpu_server -v c=$cpu_containerd -v d=$cpu_shims 'BEGIN {printf "%.1f / %.1f / %.1f / %.1f s", a / 100, b / 100, c / 100, d / 100}') |"
echo "| reference: upstream pod startup SLO (no pulls) | p99 <= 5 s |"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
