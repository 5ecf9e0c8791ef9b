#!/bin/sh
# Appliance: the first script busybox init runs in the root slot. It prints the boot marker that
# tests read on the serial console, then hands over to appliance-firstboot.
#   appliance.selftest=poweroff|reboot on the kernel command line powers off or reboots after the marker
#   (the Pi models cannot power off, so their tests load the watchdog and reboot).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
bb=/bin/busybox
$bb mkdir -p /dev/pts /dev/shm /sys/fs/cgroup /run/appliance/boot
$bb mount -t devpts devpts /dev/pts 2>/dev/null
$bb mount -t tmpfs -o mode=1777 tmpfs /dev/shm 2>/dev/null
$bb mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
boot=$($bb findfs LABEL=BOOT 2>/dev/null || $bb findfs LABEL=boot 2>/dev/null)
[ -n "$boot" ] && $bb mount -t vfat -o ro "$boot" /run/appliance/boot 2>/dev/null

board=$($bb cat /etc/appliance/board)
slot=$($bb cat /run/appliance/slot 2>/dev/null)
data=no
$bb grep -q ' /var/lib/appliance/data ' /proc/mounts && data=yes
echo "APPLIANCE-BOOT-OK $board slot=$slot data=$data $(/usr/lib/appliance/appliance-runtime --version)" > /dev/console
/usr/lib/appliance/appliance-firstboot --version > /dev/console

for arg in $($bb cat /proc/cmdline); do
    case "$arg" in
        appliance.selftest=poweroff) $bb sync; $bb poweroff -f ;;
        appliance.selftest=reboot)
            $bb modprobe bcm2835_wdt 2>/dev/null
            $bb sync; $bb reboot -f ;;
    esac
done
