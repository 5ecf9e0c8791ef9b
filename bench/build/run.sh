#!/usr/bin/env bash
# Times `appliance build` of the demo profile against a shell pipeline doing the same main work, and prints the ratio.
#
# Usage (as root): bench/build/run.sh            ROUNDS=n (default 3) paired runs, alternating which goes first
#   ours:   appliance build profiles/sites/demo-x86.yaml (8 GiB GPT image, signed), the CLI published ReadyToRun as
#           scripts/build-demo.sh publishes it; APPLIANCE=/path/appliance.dll times another build of the CLI instead.
#   theirs: tar -x of the OS image's layers, mksquashfs -comp zstd -Xcompression-level 3 of that tree, mkfs.vfat -F 32
#           + mcopy of the kernel and bootloader into a 256 MiB FAT, sgdisk of the same three partitions on an 8 GiB
#           sparse file, dd conv=sparse of both into it, sha256sum of the image.
# Prints each round, then the medians and the ratio median(ours) / median(theirs); the target is <= 1.0.
# Needs the OS kit (kits/debian/make-os-image.sh amd64) and the busybox fixture (tests/fixtures/make-images.sh)
# in the cache, as scripts/build-demo.sh leaves them; nothing is downloaded.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${ROUNDS:-3}
cache=${APPLIANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/appliance}
os_tar=$cache/os-images/debian-bookworm-amd64.oci.tar
busybox_tar=$cache/fixtures/images-v1/busybox.oci.tar
for f in "$os_tar" "$busybox_tar"; do
  [ -f "$f" ] || { echo "bench/build: $f is missing: run scripts/build-demo.sh (or the kit and tests/fixtures/make-images.sh) first" >&2; exit 2; }
done
for t in mksquashfs mkfs.vfat mcopy sgdisk jq sha256sum; do
  command -v "$t" >/dev/null || { echo "bench/build: $t is not installed" >&2; exit 2; }
done
work=$(mktemp -d /var/tmp/build-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export APPLIANCE_KEY_PASSWORD=bench-only-password

dll=${APPLIANCE:-}
if [ -z "$dll" ]; then
  case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) rid= ;; esac
  if [ -z "$rid" ] || ! dotnet publish "$root/src/ImageBuilder" -c Release -r "$rid" --self-contained false \
       -p:PublishReadyToRun=true -o "$work/cli" -nologo -clp:ErrorsOnly >/dev/null; then
    echo "note: ReadyToRun publish failed; timing the JIT build" >&2
    dotnet publish "$root/src/ImageBuilder" -c Release -o "$work/cli" -nologo -clp:ErrorsOnly >/dev/null
  fi
  dll=$work/cli/appliance.dll
fi
appliance() { dotnet "$dll" "$@"; }

# Ours: a private store, a copy of profiles/ with a fresh key (the demo profile signs with ../keys/appliance.key).
store=$work/store
appliance store add --store "$store" --name appliance/os-debian:bookworm "$os_tar" >/dev/null
appliance store add --store "$store" --name appliance/hello:1.0 "$busybox_tar" >/dev/null
cp -r "$root/profiles" "$work/profiles"
rm -rf "$work/profiles/keys"
appliance key generate -o "$work/profiles/keys" >/dev/null

# Theirs: the OS image's layers, in order, from its oci-archive.
mkdir -p "$work/oci"
tar -xf "$os_tar" -C "$work/oci"
manifest=$(jq -r '.manifests[0].digest' "$work/oci/index.json")
mapfile -t layers < <(jq -r '.layers[].digest' "$work/oci/blobs/sha256/${manifest#sha256:}")

ours() {
  rm -rf "$work/out"
  appliance build "$work/profiles/sites/demo-x86.yaml" -o "$work/out" --store "$store" >/dev/null 2>"$work/ours.log"
}

theirs() {
  local t=$work/theirs img=$work/theirs/disk.img
  rm -rf "$t"; mkdir -p "$t/root" "$t/boot/EFI/BOOT" "$t/boot/a"
  for l in "${layers[@]}"; do tar -xf "$work/oci/blobs/sha256/${l#sha256:}" -C "$t/root"; done
  mksquashfs "$t/root" "$t/root.sqfs" -comp zstd -Xcompression-level 3 -noappend -quiet -no-progress >/dev/null
  cp "$t"/root/boot/vmlinuz-* "$t/boot/a/vmlinuz"
  cp "$t/root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$t/boot/EFI/BOOT/BOOTX64.EFI"
  mkfs.vfat -F 32 -n BOOT -C "$t/boot.fat" $((256 * 1024)) >/dev/null
  mcopy -s -i "$t/boot.fat" "$t/boot/EFI" "$t/boot/a" ::
  # The slot as appliance build sizes it (twice the root, in 64 MiB units, at least 512 MiB); the image ends after
  # root-a and the backup GPT (33 sectors), as appliance build writes it.
  local sq slot
  sq=$(stat -c %s "$t/root.sqfs")
  slot=$(( (2 * sq + (64 << 20) - 1) / (64 << 20) * 64 )); [ "$slot" -lt 512 ] && slot=512
  truncate -s $(( (257 + slot) * 1024 * 1024 + 33 * 512 )) "$img"
  sgdisk -q -n 1:1M:+256M -t 1:ef00 -c 1:boot -n 2:0:+${slot}M -c 2:root-a "$img" >/dev/null
  dd if="$t/boot.fat" of="$img" bs=1M seek=1 conv=sparse,notrunc status=none
  dd if="$t/root.sqfs" of="$img" bs=1M seek=257 conv=sparse,notrunc status=none
  sha256sum "$img" >/dev/null
}

# timed NAME: runs NAME after a sync, prints its wall time in seconds.
timed() {
  sync
  local s e
  s=$(date +%s.%N); "$1"; e=$(date +%s.%N)
  echo "$e - $s" | bc
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "demo build: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds"
o=(); s=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then ot=$(timed ours); st=$(timed theirs); else st=$(timed theirs); ot=$(timed ours); fi
  o+=("$ot"); s+=("$st")
  printf 'round %d: appliance build %.1fs | shell pipeline %.1fs | ratio %.2f\n' "$r" "$ot" "$st" "$(echo "$ot / $st" | bc -l)"
  grep -E '\] (composing|wrote|signed)' "$work/ours.log" | sed 's/^/    /'
done
mo=$(median "${o[@]}"); ms=$(median "${s[@]}")
printf 'median: appliance build %.1fs, shell pipeline %.1fs: time ratio %.2f (target <= 1.0)\n' "$mo" "$ms" "$(echo "$mo / $ms" | bc -l)"
