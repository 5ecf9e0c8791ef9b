#!/usr/bin/env bash
# run-demo.sh: boots the demo image (scripts/build-demo.sh) in qemu as a new machine, with no network but a
# forwarded API port, waits until the node is Ready and the demo app is Available, and prints what kubectl sees.
#
#   bash scripts/run-demo.sh            # flash out/demo/demo-x86.img onto a fresh 8 GiB disk and boot it
#   bash scripts/run-demo.sh --again    # boot the same disk again (second boot: nothing is redone)
#   bash scripts/run-demo.sh --stop     # power the VM off cleanly (the console's `poweroff`)
#   bash scripts/run-demo.sh --board arm64-uefi [--again|--stop]   # the arm64 demo (build-demo.sh --board arm64-uefi)
#                                       # under qemu-system-aarch64 with AAVMF (virt, cortex-a57)
#
# The VM keeps running after the script ends. Its serial console is logged to out/demo/run-NAME/console.log (NAME: demo-x86,
# demo-arm64); type on it with `socat - UNIX-CONNECT:out/demo/run-NAME/console.sock`. qemu runs under software emulation (no KVM), so the first
# boot takes minutes; the script prints each stage with the elapsed time.
#
# Environment: OUT (default out), PORT (host port forwarded to the VM's 6443, default 6443), MEM (MiB, default 3072),
# SMP (virtual CPUs, default 2), DISK_SIZE (default 8G: the image's target.diskSize is the minimum), TIMEOUT (seconds per wait, default 1200).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$repo/out}
prog=run-demo
. "$repo/scripts/lib/vm.sh"
# shellcheck source=scripts/demo-board.sh
. "$repo/scripts/demo-board.sh"
demo_board "$@"
set -- "${ARGS[@]}"
vm_board "$board"
demo=$out/demo
run=$demo/run-$name
port=${PORT:-6443}
timeout=${TIMEOUT:-1200}
img=$demo/$name.img
kubeconfig=$demo/$name.kubeconfig

watch=("$run")

mode=fresh
case "${1:-}" in
  "") ;;
  --again) mode=again ;;
  --stop)
    [ -S "$run/console.sock" ] || die "no VM is running (no $run/console.sock)"
    power_off "$run"
    say "powered off"; exit 0 ;;
  *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

[ -f "$img" ] || die "$img does not exist: run scripts/build-demo.sh$board_arg first"
[ -f "$kubeconfig" ] || die "$kubeconfig does not exist: run scripts/build-demo.sh$board_arg first"
! vm_running "$run" || die "a demo VM is already running (pid $(cat "$run/qemu.pid")): bash scripts/run-demo.sh --stop"

mkdir -p "$run"
if [ "$mode" = fresh ]; then
  flash "$img" "$run"
else
  [ -f "$run/disk.img" ] || die "no disk to boot again: run without --again first"
fi

say "booting (console log: $run/console.log)"
booted=$(date -u +%s)
boot_vm "$run" "${MEM:-3072}" "${SMP:-2}" -nic user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:"$port"-:6443

k() { kubectl --kubeconfig "$kubeconfig" --server "https://127.0.0.1:$port" --request-timeout 10s "$@"; }

# After a reboot the datastore still holds the last boot's Ready conditions for a while, so "Ready" is taken only from
# this boot: the node from firstboot's own banner on this boot's console (it waits for a fresh heartbeat), the app from
# a ready container started after this boot began.
app_ready() {
  k get pods -l app=hello -o jsonpath='{range .items[*]}{.status.containerStatuses[0].ready} {.status.containerStatuses[0].state.running.startedAt}{"\n"}{end}' |
    while read -r ready started; do
      [ "$ready" = true ] && [ -n "$started" ] && [ "$(date -d "$started" +%s)" -ge "$booted" ] && echo yes
    done | grep -q yes
}
wait_for "API server answering on 127.0.0.1:$port" k get --raw /readyz
wait_for "node Ready (firstboot's banner)" banner_ready "$run"
wait_for "demo app Available (its pod ready, started by this boot)" app_ready
echo
k get nodes,pods -A -o wide
cat <<TXT

The site is up. kubectl from this host:
  kubectl --kubeconfig $kubeconfig --server https://127.0.0.1:$port get pods -A
The console:   socat - UNIX-CONNECT:$run/console.sock   (log: $run/console.log)
Stop it:       bash scripts/run-demo.sh$board_arg --stop           (then --again boots the same disk a second time)
TXT
