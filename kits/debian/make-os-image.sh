#!/usr/bin/env bash
# Builds the Appliance OS base image (an OCI archive) from Debian bookworm packages, without chroot.
#
# usage: make-os-image.sh ARCH [-o OUT.tar] [--refresh] [--full]
#   ARCH       amd64 | arm64 | armhf
#   -o OUT     where to write the OCI archive
#              (default: $APPLIANCE_CACHE/os-images/debian-bookworm-ARCH.oci.tar)
#   --refresh  resolve package versions again from the archive (needs network); otherwise the
#              versions pinned in the cache's lock file are reused and nothing is downloaded
#   --full     keep every kernel module and device tree (default: drop the large subtrees that an
#              appliance never loads; see README.md)
#
# Packages come from `apt-get download` with a private apt configuration (the host's apt sources
# and state are never read or changed), are unpacked with `dpkg-deb -x`, and no maintainer script
# runs. The archive is deterministic: same lock file + SOURCE_DATE_EPOCH give the same bytes.
set -euo pipefail
export LC_ALL=C

usage() { sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
ARCH=$1; shift
OUT=""; REFRESH=0; FULL=0
while [[ $# -gt 0 ]]; do
  case $1 in
    -o) OUT=$2; shift 2 ;;
    --refresh) REFRESH=1; shift ;;
    --full) FULL=1; shift ;;
    *) usage ;;
  esac
done

case $ARCH in
  # The generic kernel, not cloud-amd64 (no USB, no AHCI): PCs boot the ISO from USB sticks. See README.md.
  # isolinux + syslinux-common: the BIOS boot of the ISO (target.format: iso) only; the installed disk boots UEFI.
  amd64) KERNEL_META=linux-image-amd64; FLAVOUR=amd64; OCI_ARCH=amd64; OCI_VARIANT=""; TRIPLET=x86_64-linux-gnu
         EXTRA_PKGS="systemd-boot-efi isolinux syslinux-common" ;;
  arm64) KERNEL_META=linux-image-arm64; FLAVOUR=arm64; OCI_ARCH=arm64; OCI_VARIANT=""; TRIPLET=aarch64-linux-gnu
         EXTRA_PKGS="systemd-boot-efi raspi-firmware" ;;
  # armmp, not armmp-lpae: the non-LPAE kernel runs both on the Pi 2/3 (BCM2836/7) and on the
  # qemu virt machine, so one kernel serves armv7-rpi and armv7-virt. See README.md.
  armhf) KERNEL_META=linux-image-armmp; FLAVOUR=armmp; OCI_ARCH=arm; OCI_VARIANT=v7; TRIPLET=arm-linux-gnueabihf
         EXTRA_PKGS="systemd-boot-efi raspi-firmware" ;;
  *) echo "make-os-image.sh: unknown ARCH '$ARCH' (expected amd64, arm64 or armhf)" >&2; exit 2 ;;
esac

CACHE_ROOT=${APPLIANCE_CACHE:-$HOME/.cache/appliance}
CACHE=$CACHE_ROOT/debian/bookworm/$ARCH
C=$CACHE/apt
DEBS=$CACHE/debs
LOCK=$CACHE/packages.lock
OUT=${OUT:-$CACHE_ROOT/os-images/debian-bookworm-$ARCH.oci.tar}
KIT_DIR=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$C/state/lists/partial" "$C/cache/archives/partial" "$DEBS" "$(dirname "$OUT")"

# Packages the image is made of; their dependencies are resolved by apt (see below). The device
# runtime runs ip (iproute2, JSON output), nft, conntrack, iptables (the CNI bridge and portmap
# plugins), modprobe (kmod: the kernel's own module autoloading calls /sbin/modprobe too) and sysctl
# (a busybox link, step 6).
PKGS="$KERNEL_META busybox-static containerd runc containernetworking-plugins iptables nftables iproute2
      conntrack kmod e2fsprogs fdisk ca-certificates libc6 libstdc++6 libgcc-s1 zlib1g libssl3 libicu72 $EXTRA_PKGS"
# Dependencies that only serve maintainer scripts or a package manager on the device. They are
# marked as installed in the private dpkg status, so apt's resolver does not pull them (and their
# own dependency trees: udev, perl, PAM, adduser...) in.
STUBS="initramfs-tools linux-initramfs-tool linux-base dpkg debconf openssl dosfstools"
# Kernel modules the device runtime loads (rc.boot loads them from /etc/modules-load.d/appliance.conf):
# overlay (containerd's snapshotter), the pod bridge and its netfilter hook, veth, nftables with the
# NAT, masquerade, reject, conntrack and fib expressions of the service proxy and network policy,
# ctnetlink for conntrack -D, the xt_* matches iptables-nft needs for the CNI plugins' rules, loop,
# and the boot partition's FAT. Each must exist as a module or be built in, or the kit fails.
RUNTIME_MODULES="overlay bridge br_netfilter veth nf_conntrack nf_conntrack_netlink nf_nat nf_tables
      nft_chain_nat nft_nat nft_masq nft_redir nft_reject nft_reject_inet nft_reject_ipv4 nft_ct
      nft_fib nft_fib_inet nft_fib_ipv4 nft_numgen nft_hash nft_limit nft_compat xt_MASQUERADE
      xt_mark xt_comment xt_addrtype xt_multiport xt_conntrack xt_nat xt_tcpudp ext4 loop vfat
      nls_cp437 nls_iso8859_1 nls_utf8"
# Busybox applets linked into /usr/sbin because programs find them by name and no package here
# provides them: sysctl (the agent), mount/umount, hostname, udhcpc and ntpd (firstboot's network
# and time steps).
BUSYBOX_LINKS="sysctl mount umount hostname udhcpc ntpd"

# The cached .deb of NAME at VERSION, or nothing.
find_deb() {
  local d
  for d in "$DEBS/${1}_"*.deb; do
    [[ -f $d && $(dpkg-deb -f "$d" Version) == "$2" ]] && { echo "$d"; return; }
  done
  return 0
}

log() { echo "make-os-image[$ARCH]: $*" >&2; }

write_apt_config() {
  local s="[arch=$ARCH signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
  cat > "$C/sources.list" <<EOF
deb $s http://deb.debian.org/debian bookworm main non-free-firmware
deb $s http://deb.debian.org/debian bookworm-updates main non-free-firmware
deb $s http://deb.debian.org/debian-security bookworm-security main non-free-firmware
EOF
  : > "$C/status"
  for p in $STUBS; do
    printf 'Package: %s\nStatus: install ok installed\nVersion: 9999\nArchitecture: all\nMaintainer: stub\nDescription: kept out of the image by make-os-image.sh\n\n' "$p" >> "$C/status"
  done
}

apt_opts() {
  echo "-o Dir::Etc::SourceList=$C/sources.list -o Dir::Etc::SourceParts=/dev/null
        -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
        -o Dir::State=$C/state -o Dir::Cache=$C/cache -o Dir::State::status=$C/status
        -o APT::Architecture=$ARCH -o APT::Architectures=$ARCH -o Debug::NoLocking=1 -o APT::Sandbox::User=root
        -o APT::Get::AllowUnauthenticated=false -o Acquire::Languages=none
        -o Acquire::Retries=3 ${APT_EXTRA:-}"
}

# 1. Resolve: the lock file pins one version of each package. Kept across runs unless --refresh or
#    the package list changed since the lock was made (packages.request holds the list it answered).
REQUEST=$(echo "$PKGS | $STUBS" | tr -s ' \n' ' ')
if [[ $REFRESH == 1 || ! -s $LOCK || $(cat "$CACHE/packages.request" 2>/dev/null) != "$REQUEST" ]]; then
  write_apt_config
  log "resolving package versions (apt-get update with a private configuration)"
  # shellcheck disable=SC2046
  if ! apt-get $(apt_opts) -qq update; then
    # A mirror caught mid-sync serves an index whose size does not match its Release file. The
    # kernel and almost everything else come from the point release, so go on without the
    # security suite rather than fail, and say so in the lock's companion file.
    log "WARNING: apt-get update failed; retrying without bookworm-security"
    sed -i '/bookworm-security/d' "$C/sources.list"
    rm -f "$C"/state/lists/*security*
    # shellcheck disable=SC2046
    apt-get $(apt_opts) -qq update
    echo "bookworm-security was unavailable when this lock was made" > "$CACHE/lock-warnings"
  else
    rm -f "$CACHE/lock-warnings"
  fi
  # shellcheck disable=SC2046,SC2086
  apt-get $(apt_opts) -s install --no-install-recommends $PKGS \
    | awk '/^Inst /{ v=$3; gsub(/[()]/,"",v); print $2, v }' | sort > "$LOCK.tmp"
  [[ -s $LOCK.tmp ]] || { log "apt resolved no packages"; exit 1; }
  # The archive's Release date becomes the default SOURCE_DATE_EPOCH, so it is pinned too.
  rel=$(ls "$C"/state/lists/*_dists_bookworm_InRelease | head -1)
  date -d "$(sed -n 's/^Date: //p' "$rel")" +%s > "$CACHE/source-date-epoch"
  mv "$LOCK.tmp" "$LOCK"
  echo "$REQUEST" > "$CACHE/packages.request"
fi

# 2. Download: only what the lock names and the cache lacks. apt-get checks each file's hash.
missing=()
while read -r name ver; do
  [[ -n $(find_deb "$name" "$ver") ]] || missing+=("$name=$ver")
done < "$LOCK"
if [[ ${#missing[@]} -gt 0 ]]; then
  [[ -s $C/sources.list ]] || write_apt_config
  if ! ls "$C"/state/lists/*Packages* >/dev/null 2>&1; then
    # shellcheck disable=SC2046
    apt-get $(apt_opts) -qq update
  fi
  log "downloading ${#missing[@]} packages"
  # shellcheck disable=SC2046
  (cd "$DEBS" && apt-get $(apt_opts) -qq download "${missing[@]}")
fi

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(cat "$CACHE/source-date-epoch")}
KVER=$(awk '$1 ~ /^linux-image-6/ { sub(/^linux-image-/, "", $1); print $1 }' "$LOCK")
[[ -n $KVER ]] || { log "no versioned kernel package in $LOCK"; exit 1; }

# 3. Skip the build when the same inputs already made $OUT.
stamp=$( { cat "$LOCK"; echo "$SOURCE_DATE_EPOCH $FULL"; sha256sum < "$0"; } | sha256sum | cut -c1-64)
if [[ -s $OUT && -s $OUT.inputs && $(cat "$OUT.inputs") == "$stamp" ]]; then
  log "up to date: $OUT (kernel $KVER)"
  echo "$OUT"
  exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/make-os-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
mkdir -p "$ROOT"

# 4. Unpack every package and collect its control fields for the dpkg status file.
log "unpacking $(wc -l < "$LOCK") packages (kernel $KVER)"
: > "$WORK/status"
while read -r name ver; do
  f=$(find_deb "$name" "$ver")
  dpkg-deb -x "$f" "$ROOT"
  dpkg-deb -f "$f" | awk 'NR==1 { print; print "Status: install ok installed"; next } { print }' >> "$WORK/status"
  echo >> "$WORK/status"
done < "$LOCK"

# 5. Merged /usr, as on every bookworm system (debootstrap makes these links; no package does).
for d in bin sbin lib lib32 lib64; do
  if [[ -d $ROOT/$d && ! -L $ROOT/$d ]]; then
    mkdir -p "$ROOT/usr/$d"
    cp -a "$ROOT/$d/." "$ROOT/usr/$d/"
    rm -rf "${ROOT:?}/$d"
  fi
done
for d in bin sbin lib; do mkdir -p "$ROOT/usr/$d"; ln -sfn "usr/$d" "$ROOT/$d"; done
[[ -d $ROOT/usr/lib64 ]] && ln -sfn usr/lib64 "$ROOT/lib64"

# 6. What maintainer scripts would have done, reduced to what the appliance needs.
ln -sfn busybox "$ROOT/usr/bin/sh"
mkdir -p "$ROOT/etc/ssl/certs" "$ROOT/var/lib/dpkg" "$ROOT"/{dev,proc,sys,run,tmp,mnt,root,var/tmp,var/log}
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"; chmod 700 "$ROOT/root"
find "$ROOT/usr/share/ca-certificates" -name '*.crt' | sort | xargs cat > "$ROOT/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\n' > "$ROOT/etc/group"
printf 'Debian GNU/Linux 12 (bookworm), Appliance OS base\n' > "$ROOT/etc/issue"
cp "$WORK/status" "$ROOT/var/lib/dpkg/status"
rm -f "$ROOT/boot/System.map-$KVER"
ln -sfn "vmlinuz-$KVER" "$ROOT/boot/vmlinuz"
# What update-alternatives would link: iptables is the nftables-backed variant, as on bookworm.
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -sfn "${t/tables/tables-nft}" "$ROOT/usr/sbin/$t"
done
for a in $BUSYBOX_LINKS; do
  [[ -e $ROOT/usr/sbin/$a || -e $ROOT/usr/bin/$a ]] || ln -s ../bin/busybox "$ROOT/usr/sbin/$a"
done
mkdir -p "$ROOT/etc/modules-load.d"
printf '%s\n' "# Loaded by /usr/lib/appliance/rc.boot at every boot (kits/debian/make-os-image.sh)." $RUNTIME_MODULES \
  > "$ROOT/etc/modules-load.d/appliance.conf"
# Device trees: Debian puts them under usr/lib/linux-image-VER; make one stable path.
[[ -d $ROOT/usr/lib/linux-image-$KVER ]] && ln -sfn "linux-image-$KVER" "$ROOT/usr/lib/linux-dtbs"

# 7. Make it smaller: documentation (license texts stay), manuals, translations, and unless
#    --full, kernel module trees for hardware an appliance does not drive (sound, video, radio).
find "$ROOT/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$ROOT"/usr/share/{man,info,locale,lintian,bug,bash-completion}
# syslinux-common (amd64): the ISO's BIOS boot uses only isolinux.bin, isohdpfx.bin and the BIOS ldlinux.c32.
rm -rf "$ROOT"/usr/lib/syslinux/modules/{efi32,efi64}
if [[ $FULL == 0 ]]; then
  M=$ROOT/usr/lib/modules/$KVER/kernel
  rm -rf "$M"/sound "$M"/drivers/{media,gpu,staging,infiniband,isdn,iio,bluetooth,hid,input/joystick,input/touchscreen,net/wireless,net/can} \
         "$M"/net/{bluetooth,mac80211,wireless,can}
  if [[ -d $ROOT/usr/lib/linux-image-$KVER ]]; then
    # Keep the Raspberry Pi device trees (and overlays); other boards get theirs from firmware.
    find "$ROOT/usr/lib/linux-image-$KVER" -name '*.dtb' ! -name 'bcm27*' ! -name 'bcm28*' -delete
    find "$ROOT/usr/lib/linux-image-$KVER" -mindepth 1 -type d -empty -delete
  fi
fi
# modules.dep and the alias maps (the package's postinst would have made them).
depmod -b "$ROOT/usr" "$KVER" 2>/dev/null || depmod -b "$ROOT" "$KVER"
# Every module the runtime loads must have survived the trim (or be built in). Module names use
# '_' where the file may have '-' (nls_iso8859-1.ko).
MODDIR=$ROOT/usr/lib/modules/$KVER
sed 's/:.*//; s|.*/||; s/\.ko.*//; s/-/_/g' "$MODDIR/modules.dep" "$MODDIR/modules.builtin" > "$WORK/module-names"
for m in $RUNTIME_MODULES; do
  if ! grep -qx "$m" "$WORK/module-names"; then
    log "kernel $KVER has no module '$m' (needed by the device runtime) after trimming"
    exit 1
  fi
done

# 8. The layer: a sorted tar with fixed owners and times (modes and setuid bits kept), gzip -n.
log "writing the layer"
( cd "$ROOT" && ls -A | sort > "$WORK/top" )
tar -C "$ROOT" --sort=name --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    -cf "$WORK/layer.tar" -T "$WORK/top"
DIFF_ID=$(sha256sum "$WORK/layer.tar" | cut -c1-64)
gzip -n -6 < "$WORK/layer.tar" > "$WORK/layer.tar.gz"
rm "$WORK/layer.tar"

B=$WORK/oci/blobs/sha256
mkdir -p "$B"
LAYER=$(sha256sum "$WORK/layer.tar.gz" | cut -c1-64)
LAYER_SIZE=$(stat -c %s "$WORK/layer.tar.gz")
mv "$WORK/layer.tar.gz" "$B/$LAYER"
CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
PLATFORM=$(jq -cn --arg a "$OCI_ARCH" --arg v "$OCI_VARIANT" '{architecture:$a, os:"linux"} + (if $v=="" then {} else {variant:$v} end)')
jq -cnS --argjson p "$PLATFORM" --arg created "$CREATED" --arg diff "sha256:$DIFF_ID" --arg kver "$KVER" \
      --arg triplet "$TRIPLET" --arg lock "$(sha256sum "$LOCK" | cut -c1-64)" \
  '$p + {created:$created,
         config:{Env:["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                 Labels:{"dev.appliance.os":"debian-bookworm","dev.appliance.kernel":$kver,
                         "dev.appliance.libdir":$triplet,"dev.appliance.packages-lock":("sha256:"+$lock)}},
         rootfs:{type:"layers", diff_ids:[$diff]},
         history:[{created:$created, created_by:"kits/debian/make-os-image.sh"}]}' > "$WORK/config.json"
CONFIG=$(sha256sum "$WORK/config.json" | cut -c1-64)
mv "$WORK/config.json" "$B/$CONFIG"
jq -cnS --arg c "sha256:$CONFIG" --argjson cs "$(stat -c %s "$B/$CONFIG")" \
        --arg l "sha256:$LAYER" --argjson ls "$LAYER_SIZE" \
  '{schemaVersion:2, mediaType:"application/vnd.oci.image.manifest.v1+json",
    config:{mediaType:"application/vnd.oci.image.config.v1+json", digest:$c, size:$cs},
    layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip", digest:$l, size:$ls}]}' > "$WORK/manifest.json"
MANIFEST=$(sha256sum "$WORK/manifest.json" | cut -c1-64)
MANIFEST_SIZE=$(stat -c %s "$WORK/manifest.json")
mv "$WORK/manifest.json" "$B/$MANIFEST"
REF="${IMAGE_NAME:-appliance/os-debian:bookworm-$ARCH}"
jq -cnS --arg m "sha256:$MANIFEST" --argjson ms "$MANIFEST_SIZE" --argjson p "$PLATFORM" --arg ref "$REF" --arg tag "bookworm-$ARCH" \
  '{schemaVersion:2, mediaType:"application/vnd.oci.image.index.v1+json",
    manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json", digest:$m, size:$ms, platform:$p,
                annotations:{"io.containerd.image.name":$ref, "org.opencontainers.image.ref.name":$tag}}]}' \
  > "$WORK/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$WORK/oci/oci-layout"

tar -C "$WORK/oci" --sort=name --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --mode=u+rw,go+r,go-w \
    -cf "$OUT.tmp" oci-layout index.json blobs
mv "$OUT.tmp" "$OUT"
echo "$stamp" > "$OUT.inputs"
log "wrote $OUT ($(du -m "$OUT" | cut -f1) MiB, kernel $KVER, $REF)"
echo "$OUT"
