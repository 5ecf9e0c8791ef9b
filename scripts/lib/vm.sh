# scripts/lib/vm.sh: what the qemu run scripts share (sourced by run-demo.sh and run-site.sh, not run).
# A VM lives in a run directory RUN: disk.img, vars.fd (its UEFI variables), qemu.pid, console.sock (its serial
# console: type on it with `socat - UNIX-CONNECT:RUN/console.sock`) and console.log. qemu runs under software
# emulation (never KVM) and daemonized: the VM keeps running after the script ends.
# The caller sets $prog (its name, for messages) and $timeout (seconds per wait_for).

say() { printf '== [%4ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }

console() { # console RUN COMMAND: types one command on the VM's serial console (Enter first: the shell waits for it)
  python3 - "$1/console.sock" "$2" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"\r"); time.sleep(1); s.sendall(sys.argv[2].encode() + b"\r"); time.sleep(1); s.close()
PY
}

vm_board() { # vm_board BOARD: the machine of BOARD (x86_64-uefi, the default, or arm64-uefi): qemu, its UEFI firmware
  # (code and the variables template a fresh VM copies) and the disk's bus
  case $1 in
    x86_64-uefi)
      qemu=(qemu-system-x86_64) fw_code=/usr/share/OVMF/OVMF_CODE_4M.fd fw_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
      disk_bus=(if=virtio) ;;
    arm64-uefi)
      qemu=(qemu-system-aarch64 -M virt -cpu cortex-a57) fw_code=/usr/share/AAVMF/AAVMF_CODE.fd fw_vars=/usr/share/AAVMF/AAVMF_VARS.fd
      disk_bus=(if=none,id=hd0 -device virtio-blk-pci,drive=hd0) ;;
    *) die "no VM recipe for board $1" ;;
  esac
}
vm_board x86_64-uefi

vm_running() { [ -e "$1/qemu.pid" ] && kill -0 "$(cat "$1/qemu.pid")" 2>/dev/null; }

flash() { # flash IMAGE RUN: a fresh disk of DISK_SIZE (default 8G; the image's target.diskSize is the minimum)
  say "flashing $1 onto a fresh ${DISK_SIZE:-8G} disk ($2/disk.img)"
  mkdir -p "$2"
  rm -f "$2/disk.img" "$2/vars.fd"
  cp --sparse=always "$1" "$2/disk.img"
  truncate -s "${DISK_SIZE:-8G}" "$2/disk.img"
  cp "$fw_vars" "$2/vars.fd"
}

boot_vm() { # boot_vm RUN MEM_MIB CPUS QEMU_NETWORK_ARGS...: powers the VM on (the vm_board machine), returns at once
  local run=$1 mem=$2 cpus=$3
  shift 3
  command -v "${qemu[0]}" >/dev/null || die "${qemu[0]} is not installed (tests/install-deps.sh installs it)"
  [ -f "$fw_code" ] || die "$fw_code is not installed (UEFI firmware for ${qemu[0]}: tests/install-deps.sh installs it)"
  [ -f "$run/disk.img" ] || die "no disk in $run: flash it first"
  ! vm_running "$run" || die "the VM of $run is already running (pid $(cat "$run/qemu.pid"))"
  rm -f "$run/console.sock"
  : > "$run/console.log"
  local drive=(-drive "file=$run/disk.img,format=raw,${disk_bus[0]}" "${disk_bus[@]:1}")
  "${qemu[@]}" -m "$mem" -smp "$cpus" -display none -no-reboot \
    -drive if=pflash,format=raw,readonly=on,file="$fw_code" \
    -drive if=pflash,format=raw,file="$run/vars.fd" \
    "${drive[@]}" \
    "$@" \
    -chardev socket,id=ser0,path="$run/console.sock",server=on,wait=off,logfile="$run/console.log" -serial chardev:ser0 \
    -pidfile "$run/qemu.pid" -daemonize
}

power_off() { # power_off RUN: the console's `poweroff`, waiting up to 120 s for qemu to end
  vm_running "$1" || return 0
  console "$1" "poweroff"
  for _ in $(seq 1 120); do vm_running "$1" || return 0; sleep 1; done
  die "the VM of $1 did not power off within 120 s (kill $(cat "$1/qemu.pid") ends it)"
}

pull_plug() { # pull_plug RUN: a hard power-off (qemu killed: no shutdown, no flush)
  vm_running "$1" || return 0
  kill -KILL "$(cat "$1/qemu.pid")"
  for _ in $(seq 1 30); do vm_running "$1" || { rm -f "$1/qemu.pid"; return 0; }; sleep 1; done
  die "qemu of $1 did not end"
}

# Firstboot prints this banner once the node is Ready; it waits for a heartbeat of this boot, so after a reboot a
# stale Ready in the datastore does not count.
banner_ready() { tr -d '\r' < "$1/console.log" | grep -aq '^Appliance site .*: Ready$'; }

runtime_rss() { # runtime_rss RUN: appliance-runtime's resident memory in the VM, "NNN kB", read on its console
  local mark="rss-$RANDOM$RANDOM"
  console "$1" "echo $mark \$(grep VmRSS /proc/\$(pidof appliance-runtime)/status)"
  for _ in $(seq 1 30); do
    tr -d '\r' < "$1/console.log" | sed -n "s/^$mark VmRSS: *\([0-9]* kB\)\$/\1/p" | tail -n 1 | grep . && return 0
    sleep 1
  done
  echo "unknown"
}

wait_for() { # wait_for WHAT COMMAND...: polls every 3 s, up to $timeout s; fails when a VM of $watch (run dirs) stops
  local what=$1; shift
  local deadline=$((SECONDS + timeout)) r
  until "$@" >/dev/null 2>&1; do
    for r in "${watch[@]}"; do
      vm_running "$r" || die "the VM of $r stopped while waiting for $what; console: $r/console.log"
    done
    [ "$SECONDS" -lt "$deadline" ] || die "no $what within ${timeout}s; consoles: ${watch[*]/%//console.log} (last lines of the first below)
$(tail -n 20 "${watch[0]}/console.log")"
    sleep 3
  done
  say "$what"
}
