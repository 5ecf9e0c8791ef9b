#!/bin/busybox sh
# Appliance initramfs /init: find the slot's squashfs root by partition label (or, booted from an ISO, the
# medium's appliance/root.squashfs), mount it read-only under a tmpfs overlay, mount the data partition
# when there is one (from an ISO: a tmpfs), and start the OS's init.
#
# Kernel command line:
#   appliance.slot=a|b       which root slot to boot (default a)
#   appliance.mode=live|install  boot from the ISO medium (an iso9660 file system holding
#                            appliance/root.squashfs: a CD, or a USB stick carrying the ISO at offset 0);
#                            the disk's partitions are not touched, and data lives in RAM
#   appliance.rootwait=SEC   how long to wait for the root device (default 30)
#   appliance.debug          drop to a shell instead of panicking when something fails
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /newroot /lower /overlay
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts

say() { echo "appliance-initramfs: $*" > /dev/kmsg 2>/dev/null || echo "appliance-initramfs: $*"; }

fail() {
    echo "appliance-initramfs: FATAL: $*" > /dev/console
    if grep -qw appliance.debug /proc/cmdline; then exec sh; fi
    sleep 5
    # With panic=N on the command line the kernel reboots; otherwise it halts here.
    echo c > /proc/sysrq-trigger 2>/dev/null
    exec sleep 2147483647
}

slot=a
rootwait=30
mode=""
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        appliance.slot=*) slot="${arg#appliance.slot=}" ;;
        appliance.rootwait=*) rootwait="${arg#appliance.rootwait=}" ;;
        appliance.mode=*) mode="${arg#appliance.mode=}" ;;
    esac
done
case "$slot" in a|b) ;; *) fail "appliance.slot='$slot': expected a or b" ;; esac
case "$mode" in ""|live|install) ;; *) fail "appliance.mode='$mode': expected live or install" ;; esac

# Modules, in dependency order (written by the image builder from modules.dep).
if [ -f /lib/modules/load.order ]; then
    while read -r ko; do
        [ -n "$ko" ] || continue
        insmod "/lib/modules/$ko" 2>/dev/null || say "insmod $ko failed"
    done < /lib/modules/load.order
fi

# The block device whose GPT partition name is $1 (from the uevent's PARTNAME).
by_partname() {
    for u in /sys/class/block/*/uevent; do
        if grep -qx "PARTNAME=$1" "$u"; then
            sed -n 's/^DEVNAME=//p' "$u"
            return 0
        fi
    done
    return 1
}

# MBR has no partition names: the root slots are partitions 2 (a) and 3 (b) of the disk that
# holds the FAT file system labelled "boot" (the layout in DESIGN.md). busybox-static has no
# blkid applet, but its findfs reads FAT labels.
by_mbr_slot() {
    n=2; [ "$1" = b ] && n=3
    dev=$(findfs LABEL=boot 2>/dev/null || findfs LABEL=BOOT 2>/dev/null) || return 1
    dev=${dev#/dev/}
    disk=$(basename "$(dirname "$(readlink -f "/sys/class/block/$dev")")")
    for p in /sys/class/block/"$disk"/*/partition; do
        [ "$(cat "$p" 2>/dev/null)" = "$n" ] && { basename "$(dirname "$p")"; return 0; }
    done
    return 1
}

# The ISO medium: a whole disk (sr0 for a CD, sdX or vdX for a stick written with the ISO at offset 0)
# holding an iso9660 file system with appliance/root.squashfs; mounted read-only at /medium.
find_medium() {
    for d in /sys/block/*; do
        dev=${d##*/}
        case "$dev" in loop*|ram*|zram*) continue ;; esac
        [ -b "/dev/$dev" ] || continue
        if mount -t iso9660 -o ro "/dev/$dev" /medium 2>/dev/null; then
            [ -f /medium/appliance/root.squashfs ] && { echo "$dev"; return 0; }
            umount /medium
        fi
    done
    return 1
}

# Waits up to $rootwait seconds for "$@" to print a device name.
wait_for() {
    i=0
    while [ $i -lt $((rootwait * 10)) ]; do
        found=$("$@") && [ -n "$found" ] && { echo "$found"; return 0; }
        usleep 100000
        i=$((i + 1))
    done
    return 1
}

slot_device() {
    dev=$(by_partname "root-$slot") || dev=$(by_mbr_slot "$slot") || return 1
    [ -b "/dev/$dev" ] && echo "$dev"
}

if [ -n "$mode" ]; then
    mkdir -p /medium
    medium=$(wait_for find_medium) \
        || fail "appliance.mode=$mode: no iso9660 medium holding appliance/root.squashfs (CD or USB disk) after ${rootwait}s"
    say "medium is /dev/$medium ($mode)"
    mount -t squashfs -o ro,loop /medium/appliance/root.squashfs /lower \
        || fail "cannot mount appliance/root.squashfs of /dev/$medium"
    what="appliance/root.squashfs of /dev/$medium"
else
    root=$(wait_for slot_device) \
        || fail "no partition for root slot $slot (GPT name root-$slot, or MBR partition of the 'boot' disk) after ${rootwait}s"
    say "root slot $slot is /dev/$root"
    mount -t squashfs -o ro "/dev/$root" /lower || fail "cannot mount /dev/$root as squashfs"
    what="/dev/$root"
fi
mount -t tmpfs -o mode=0755 tmpfs /overlay
mkdir -p /overlay/upper /overlay/work
mount -t overlay overlay -o "lowerdir=/lower,upperdir=/overlay/upper,workdir=/overlay/work" /newroot \
    || fail "cannot mount the overlay on $what"
mkdir -p /newroot/run/appliance/lower /newroot/run/appliance/overlay
mount --move /lower /newroot/run/appliance/lower
mount --move /overlay /newroot/run/appliance/overlay
echo "$slot" > /newroot/run/appliance/slot

mkdir -p /newroot/var/lib/appliance/data
if [ -n "$mode" ]; then
    # From the medium nothing on the machine's disks is used: the data directory is RAM, gone at power-off.
    mkdir -p /newroot/run/appliance/medium
    mount --move /medium /newroot/run/appliance/medium
    echo "$mode" > /newroot/run/appliance/mode
    mount -t tmpfs -o mode=0755 tmpfs /newroot/var/lib/appliance/data
else
    data=$(by_partname data) || data=$(findfs LABEL=data 2>/dev/null) || data=""
    if [ -n "$data" ]; then
        data=/dev/${data#/dev/}
        mount -t ext4 "$data" /newroot/var/lib/appliance/data || say "cannot mount the data partition $data"
    fi
fi

mount --move /dev /newroot/dev
mount --move /sys /newroot/sys
mount --move /proc /newroot/proc

if [ -x /newroot/lib/systemd/systemd ]; then
    exec switch_root /newroot /lib/systemd/systemd
fi
exec switch_root /newroot /bin/busybox init
