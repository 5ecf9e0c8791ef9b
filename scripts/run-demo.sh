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
# The VM keeps running after the script ends. Its serial console is logged to out/demo/run-NAME/console.log (NAME: demo-x86, demo-arm64); type on it
# with `socat - UNIX-CONNECT:out/demo/run-NAME/console.sock`. qemu runs under software emulation (no KVM), so the first
# boot takes minutes; the script prints each stage with the elapsed time.
#
# Environment: OUT (default out), PORT (host port forwarded to the VM's 6443, default 6443), MEM (MiB, default 3072),
# SMP (virtual CPUs, default 2), DISK_SIZE (default 8G: the image's target.diskSize is the minimum), TIMEOUT (seconds
# per wait, default 1200).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$repo/out}
# shellcheck source=scripts/demo-board.sh
. "$repo/scripts/demo-board.sh"
demo_board "$@"
set -- "${ARGS[@]}"
demo=$out/demo
run=$demo/run-$name
port=${PORT:-6443}
timeout=${TIMEOUT:-1200}
img=$demo/$name.img
kubeconfig=$demo/$name.kubeconfig

say() { printf '== [%4ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'run-demo: %s\n' "$*" >&2; exit 2; }

console() { # types one command on the VM's serial console: Enter first (the console waits for it), CR-terminated
  python3 - "$run/console.sock" "$1" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"\r"); time.sleep(1); s.sendall(sys.argv[2].encode() + b"\r"); time.sleep(1); s.close()
PY
}

mode=fresh
case "${1:-}" in
  "") ;;
  --again) mode=again ;;
  --stop)
    [ -S "$run/console.sock" ] || die "no VM is running (no $run/console.sock)"
    console "poweroff"
    for _ in $(seq 1 120); do [ -e "$run/qemu.pid" ] && kill -0 "$(cat "$run/qemu.pid")" 2>/dev/null || { say "powered off"; exit 0; }; sleep 1; done
    die "the VM did not power off within 120 s (kill $(cat "$run/qemu.pid") ends it)" ;;
  *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

[ -f "$img" ] || die "$img does not exist: run scripts/build-demo.sh$board_arg first"
[ -f "$kubeconfig" ] || die "$kubeconfig does not exist: run scripts/build-demo.sh$board_arg first"
# The machine of each board: qemu, its UEFI firmware (code and a copy of the variables template) and the disk's bus.
case $board in
  x86_64-uefi)
    qemu=(qemu-system-x86_64) code=/usr/share/OVMF/OVMF_CODE_4M.fd vars=/usr/share/OVMF/OVMF_VARS_4M.fd
    disk=(-drive file="$run/disk.img",format=raw,if=virtio) ;;
  arm64-uefi)
    qemu=(qemu-system-aarch64 -M virt -cpu cortex-a57) code=/usr/share/AAVMF/AAVMF_CODE.fd vars=/usr/share/AAVMF/AAVMF_VARS.fd
    disk=(-drive if=none,id=hd0,format=raw,file="$run/disk.img" -device virtio-blk-pci,drive=hd0) ;;
esac
command -v "${qemu[0]}" >/dev/null || die "${qemu[0]} is not installed (tests/install-deps.sh installs it)"
[ -f "$code" ] || die "$code is not installed (UEFI firmware for ${qemu[0]}: tests/install-deps.sh installs it)"
if [ -e "$run/qemu.pid" ] && kill -0 "$(cat "$run/qemu.pid")" 2>/dev/null; then
  die "a demo VM is already running (pid $(cat "$run/qemu.pid")): bash scripts/run-demo.sh --stop"
fi

mkdir -p "$run"
if [ "$mode" = fresh ]; then
  say "flashing $img onto a fresh ${DISK_SIZE:-8G} disk ($run/disk.img)"
  rm -f "$run/disk.img" "$run/vars.fd"
  cp --sparse=always "$img" "$run/disk.img"
  truncate -s "${DISK_SIZE:-8G}" "$run/disk.img"
  cp "$vars" "$run/vars.fd"
else
  [ -f "$run/disk.img" ] || die "no disk to boot again: run without --again first"
fi

say "booting (console log: $run/console.log)"
booted=$(date -u +%s)
rm -f "$run/console.sock"
: > "$run/console.log"
"${qemu[@]}" -m "${MEM:-3072}" -smp "${SMP:-2}" -display none -no-reboot \
  -drive if=pflash,format=raw,readonly=on,file="$code" \
  -drive if=pflash,format=raw,file="$run/vars.fd" \
  "${disk[@]}" \
  -nic user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:"$port"-:6443 \
  -chardev socket,id=ser0,path="$run/console.sock",server=on,wait=off,logfile="$run/console.log" -serial chardev:ser0 \
  -pidfile "$run/qemu.pid" -daemonize

k() { kubectl --kubeconfig "$kubeconfig" --server "https://127.0.0.1:$port" --request-timeout 10s "$@"; }

wait_for() { # wait_for WHAT COMMAND...
  local what=$1; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$(cat "$run/qemu.pid")" 2>/dev/null || die "the VM stopped while waiting for $what; console: $run/console.log"
    [ "$SECONDS" -lt "$deadline" ] || die "no $what within ${timeout}s; console: $run/console.log (last lines below)
$(tail -n 20 "$run/console.log")"
    sleep 3
  done
  say "$what"
}

# After a reboot the datastore still holds the last boot's Ready conditions for a while, so "Ready" is taken only from
# this boot: the node from firstboot's own banner on this boot's console (it waits for a fresh heartbeat), the app from
# a ready container started after this boot began.
node_ready() { tr -d '\r' < "$run/console.log" | grep -aq '^Appliance site .*: Ready$'; }
app_ready() {
  k get pods -l app=hello -o jsonpath='{range .items[*]}{.status.containerStatuses[0].ready} {.status.containerStatuses[0].state.running.startedAt}{"\n"}{end}' |
    while read -r ready started; do
      [ "$ready" = true ] && [ -n "$started" ] && [ "$(date -d "$started" +%s)" -ge "$booted" ] && echo yes
    done | grep -q yes
}
wait_for "API server answering on 127.0.0.1:$port" k get --raw /readyz
wait_for "node Ready (firstboot's banner)" node_ready
wait_for "demo app Available (its pod ready, started by this boot)" app_ready
echo
k get nodes,pods -A -o wide
cat <<TXT

The site is up. kubectl from this host:
  kubectl --kubeconfig $kubeconfig --server https://127.0.0.1:$port get pods -A
The console:   socat - UNIX-CONNECT:$run/console.sock   (log: $run/console.log)
Stop it:       bash scripts/run-demo.sh$board_arg --stop           (then --again boots the same disk a second time)
TXT
