#!/bin/sh
# Appliance: the sysinit script busybox init runs in the root slot. It prepares what the runtime needs
# (mounts, cgroup v2, kernel modules, sysctls, loopback), prints the boot marker that tests read on the
# serial console, and returns; init then starts appliance-firstboot (/etc/inittab), which supervises the runtime.
#   appliance.selftest=poweroff|reboot on the kernel command line powers off or reboots right after the
#   marker, before init starts firstboot (the Pi models cannot power off, so their tests load the watchdog
#   and reboot).
# Nothing here is fatal: a step that fails is logged (kernel log and /run/appliance/rc.boot.log) and the boot goes on.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
bb=/bin/busybox
$bb mkdir -p /run/appliance/boot
log() {
    echo "rc.boot: $*" >> /run/appliance/rc.boot.log
    echo "<4>rc.boot: $*" > /dev/kmsg 2>/dev/null
}
mnt() { # mnt FSTYPE DIR OPTIONS: mount unless DIR already is a mount point
    $bb mkdir -p "$2"
    $bb grep -q "^[^ ]* $2 " /proc/mounts 2>/dev/null || $bb mount -t "$1" -o "$3" "$1" "$2" || log "cannot mount $1 on $2"
}

# The initramfs moved /proc, /sys and /dev here; the root is an overlay with a tmpfs upper, so /run,
# /tmp and /var are in RAM and empty at every boot. The data partition, when it exists, is mounted
# at /var/lib/appliance/data by the initramfs (firstboot makes and mounts it on the first boot).
mnt proc /proc nosuid,nodev,noexec
mnt sysfs /sys nosuid,nodev,noexec
mnt devpts /dev/pts nosuid,noexec,mode=620,ptmxmode=666
mnt tmpfs /dev/shm nosuid,nodev,mode=1777
# cgroup v2 only (containerd 1.6 and runc 1.1 detect the unified hierarchy by its file system type).
# Every controller is delegated from the root, as systemd would, so runc can enable them below it.
mnt cgroup2 /sys/fs/cgroup nosuid,nodev,noexec,nsdelegate
for c in $($bb cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null); do
    echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || log "cannot enable the cgroup controller $c"
done
# Shared propagation, as systemd makes it: volumes with mountPropagation and containerd's own mounts rely on it.
$bb mount --make-rshared / || log "cannot make / a shared mount"

# Booted from an ISO (appliance.mode=live|install), the initramfs mounted the medium at /run/appliance/medium: its
# appliance/boot holds the boot partition's files, and a disk's BOOT partition (an installed appliance) is not ours.
mode=$($bb cat /run/appliance/mode 2>/dev/null)
if [ -n "$mode" ]; then
    $bb mount --bind /run/appliance/medium/appliance/boot /run/appliance/boot 2>/dev/null \
        || log "cannot bind the medium's appliance/boot to /run/appliance/boot"
else
    boot=$($bb findfs LABEL=BOOT 2>/dev/null || $bb findfs LABEL=boot 2>/dev/null)
    [ -n "$boot" ] && { $bb mount -t vfat -o ro "$boot" /run/appliance/boot 2>/dev/null || log "cannot mount the boot partition $boot"; }
fi

# Kernel modules the runtime needs (the OS kit lists them in /etc/modules-load.d/, one per line).
modules=$($bb cat /etc/modules-load.d/*.conf 2>/dev/null | $bb sed 's/[#;].*//')
if [ -n "$modules" ]; then
    modprobe=modprobe
    command -v modprobe > /dev/null || modprobe="$bb modprobe"
    # shellcheck disable=SC2086
    out=$($modprobe -a $modules 2>&1) || log "modprobe: ${out:-failed}"
fi
# Drivers of the devices present (there is no udev or mdev, and Debian's kernel has no uevent helper): each device's
# modalias, as coldplug does. The network card's driver (virtio_net, e1000e, the Pi's USB or GENET Ethernet) is a
# module, and nothing else loads it. A driver can bring new devices: the Pi's USB host (dwc2) enumerates its hub and
# the Pi 3's on-board Ethernet (smsc95xx, on USB) a second or two later. So the pass repeats until the device list has
# stayed the same for 2 s (at most 20 s); where nothing new appears that costs about 3 s.
coldplug_list() { $bb cat /sys/bus/*/devices/*/modalias 2>/dev/null | $bb sort -u; }
seen="" same=0 waited=0
while [ "$same" -lt 2 ] && [ "$waited" -lt 20 ]; do
    aliases=$(coldplug_list)
    if [ "$aliases" != "$seen" ]; then
        # shellcheck disable=SC2086
        [ -n "$aliases" ] && { ${modprobe:-$bb modprobe} -q -a -b $aliases > /dev/null 2>&1 || true; }
        seen=$aliases same=0
    else
        same=$((same + 1))
    fi
    $bb sleep 1
    waited=$((waited + 1))
done

# Kernel settings the runtime does not make itself (it sets net.ipv4.ip_forward and bridge-nf-call-iptables).
for kv in \
    net.bridge.bridge-nf-call-ip6tables=1 \
    fs.inotify.max_user_instances=8192 \
    fs.inotify.max_user_watches=524288 \
    vm.overcommit_memory=1 \
    vm.panic_on_oom=0 \
    kernel.panic=10 \
    kernel.panic_on_oops=1; do
    $bb sysctl -q -w "$kv" > /dev/null 2>&1 || log "sysctl $kv failed"
done
$bb ip link set lo up 2>/dev/null || log "cannot bring up lo"

board=$($bb cat /etc/appliance/board)
slot=$($bb cat /run/appliance/slot 2>/dev/null)
data=no
$bb grep -q ' /var/lib/appliance/data ' /proc/mounts && data=yes
[ -n "$mode" ] && data=ram
if [ -x /usr/lib/appliance/appliance-firstboot ]; then
    echo "APPLIANCE-BOOT-OK $board slot=$slot data=$data${mode:+ mode=$mode} $(/usr/lib/appliance/appliance-runtime --version)" > /dev/console
    /usr/lib/appliance/appliance-firstboot --version > /dev/console
else
    # Built with runtime.absent: true (no release for this platform, e.g. linux/arm/v7): no firstboot, no node. Said
    # plainly on the console and in the status file firstboot would otherwise write.
    why="this image carries no appliance runtime (built with runtime.absent: true: the runtime release has no build for $($bb uname -m)); no first boot, no node"
    echo "APPLIANCE-BOOT-OK $board slot=$slot data=$data${mode:+ mode=$mode} runtime=absent" > /dev/console
    echo "Appliance: $why" > /dev/console
    printf '{"version":1,"board":"%s","slot":"%s","runtime":"absent","node":{"state":"absent"},"reason":"%s"}\n' \
        "$board" "$slot" "$why" > /run/appliance/status.json
    echo "Appliance: /run/appliance/status.json: $($bb cat /run/appliance/status.json)" > /dev/console
fi

for arg in $($bb cat /proc/cmdline); do
    case "$arg" in
        appliance.selftest=poweroff) $bb sync; $bb poweroff -f ;;
        appliance.selftest=reboot)
            $bb modprobe bcm2835_wdt 2>/dev/null
            $bb sync; $bb reboot -f ;;
    esac
done
exit 0
