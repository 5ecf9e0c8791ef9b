#!/usr/bin/env bash
# run-site.sh: boots the two-node site (scripts/build-site.sh) in qemu: the server and the agent as two new machines
# whose only link is a LAN of their own (a qemu socket network on 127.0.0.1), plus a restricted user network on the
# server that forwards its API port to this host for kubectl. Waits until both nodes are Ready and the site's
# DaemonSet runs on both, and prints what kubectl sees and the times it took.
#
#   bash scripts/run-site.sh               # flash both images onto fresh 8 GiB disks, boot both, wait
#   bash scripts/run-site.sh --stop        # power both off cleanly (the consoles' `poweroff`)
#   bash scripts/run-site.sh --agent-off   # pull the agent's plug (qemu killed: no shutdown)
#   bash scripts/run-site.sh --agent-on    # power the agent on again (same disk), wait for it to be Ready again
#   bash scripts/run-site.sh --rss         # appliance-runtime's resident memory in each VM (read on the consoles)
#
# The VMs keep running after the script ends. Their serial consoles are logged to out/site/run/{server,agent}/console.log;
# type on one with `socat - UNIX-CONNECT:out/site/run/server/console.sock`. Software emulation (no KVM): minutes.
# Environment: OUT (default out), PORT (host port forwarded to the server's 6443, default 6443), LAN_PORT (the LAN's
# socket on 127.0.0.1, default 20770), SERVER_MEM / AGENT_MEM (MiB, default 2048 / 1536), CPUS (per VM, default 1),
# DISK_SIZE (default 8G), TIMEOUT (seconds per wait, default 1200).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$repo/out}
site=$out/site
server=$site/run/server
agent=$site/run/agent
port=${PORT:-6443}
lan=${LAN_PORT:-20770}
cpus=${CPUS:-1}
timeout=${TIMEOUT:-1200}
kubeconfig=$site/site-server.kubeconfig
prog=run-site
. "$repo/scripts/lib/vm.sh"

k() { kubectl --kubeconfig "$kubeconfig" --server "https://127.0.0.1:$port" --request-timeout 10s "$@"; }

# The LAN: the server listens on the socket, the agent connects to it; each VM's first NIC (eth0) is on it, with the
# profiles' static addresses (10.77.0.10 and .11). The server's second NIC (eth1, 10.0.2.15) is qemu's user network,
# restricted (nothing leaves it) but for the forwarded API port.
boot_server() {
  boot_vm "$server" "${SERVER_MEM:-2048}" "$cpus" \
    -netdev socket,id=lan,listen=127.0.0.1:"$lan" -device virtio-net-pci,netdev=lan,mac=52:54:00:77:00:10 \
    -netdev user,id=op,restrict=on,hostfwd=tcp:127.0.0.1:"$port"-:6443 -device virtio-net-pci,netdev=op,mac=52:54:00:02:00:0f
  date -u +%s > "$server/booted"
}
boot_agent() {
  boot_vm "$agent" "${AGENT_MEM:-1536}" "$cpus" \
    -netdev socket,id=lan,connect=127.0.0.1:"$lan" -device virtio-net-pci,netdev=lan,mac=52:54:00:77:00:11
  date -u +%s > "$agent/booted"
}

# A node-hello (DaemonSet) pod on NODE that is ready and whose container started after the VM's power-on.
ds_ready() { # ds_ready NODE RUN
  local booted
  booted=$(cat "$2/booted")
  k get pods -l app=node-hello --field-selector spec.nodeName="$1" \
      -o jsonpath='{range .items[*]}{.status.containerStatuses[0].ready} {.status.containerStatuses[0].state.running.startedAt}{"\n"}{end}' |
    while read -r ready started; do
      [ "$ready" = true ] && [ -n "$started" ] && [ "$(date -d "$started" +%s)" -ge "$booted" ] && echo yes
    done | grep -q yes
}
since() { echo $(( $(date -u +%s) - $(cat "$1/booted") )); }
figure() { say "$1: $(since "$2") s after its power-on"; echo "figure: $1: $(since "$2") s"; }

case "${1:-}" in
  "")
    [ -f "$site/site-server.img" ] && [ -f "$site/site-agent.img" ] || die "no images in $site: run scripts/build-site.sh first"
    [ -f "$kubeconfig" ] || die "$kubeconfig does not exist: run scripts/build-site.sh first"
    for r in "$server" "$agent"; do ! vm_running "$r" || die "a site VM is already running (pid $(cat "$r/qemu.pid")): bash scripts/run-site.sh --stop"; done
    flash "$site/site-server.img" "$server"
    flash "$site/site-agent.img" "$agent"
    say "powering on the server (console log: $server/console.log)"
    boot_server
    say "powering on the agent (console log: $agent/console.log); it joins https://10.77.0.10:6443 by itself"
    boot_agent
    watch=("$server" "$agent")
    wait_for "API server answering on 127.0.0.1:$port" k get --raw /readyz
    wait_for "server node Ready (its banner)" banner_ready "$server"; figure "server power-on to node Ready" "$server"
    wait_for "agent node Ready (its banner)" banner_ready "$agent"; figure "agent power-on to node Ready (join)" "$agent"
    wait_for "DaemonSet node-hello Available on site-server" ds_ready site-server "$server"; figure "server power-on to DaemonSet pod Available" "$server"
    wait_for "DaemonSet node-hello Available on site-agent" ds_ready site-agent "$agent"; figure "agent power-on to DaemonSet pod Available" "$agent"
    echo
    k get nodes -o wide
    echo
    k get pods -A -o wide
    cat <<TXT

The site is up. kubectl from this host:
  kubectl --kubeconfig $kubeconfig --server https://127.0.0.1:$port get nodes -o wide
The consoles:  socat - UNIX-CONNECT:$server/console.sock   (and $agent/console.sock)
Lose a node:   bash scripts/run-site.sh --agent-off   (then --agent-on)
Stop it:       bash scripts/run-site.sh --stop
TXT
    ;;
  --stop)
    power_off "$agent"; power_off "$server"; say "both powered off" ;;
  --agent-off)
    vm_running "$agent" || die "the agent VM is not running"
    pull_plug "$agent"; say "the agent's plug is pulled: its node turns NotReady about 40 s after its last heartbeat" ;;
  --agent-on)
    vm_running "$server" || die "the server VM is not running: bash scripts/run-site.sh"
    ! vm_running "$agent" || die "the agent VM is already running"
    say "powering the agent on again (same disk; console log: $agent/console.log)"
    boot_agent
    watch=("$server" "$agent")
    wait_for "agent node Ready again (its banner)" banner_ready "$agent"; figure "agent power-on to node Ready (rejoin)" "$agent"
    wait_for "DaemonSet node-hello Available on site-agent" ds_ready site-agent "$agent"; figure "agent power-on to DaemonSet pod Available" "$agent"
    k get nodes -o wide ;;
  --rss)
    for r in "$server" "$agent"; do
      vm_running "$r" || { echo "$(basename "$r"): not running"; continue; }
      echo "$(basename "$r"): appliance-runtime VmRSS $(runtime_rss "$r")"
    done ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
