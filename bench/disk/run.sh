#!/usr/bin/env bash
# Benchmarks our disk writers against the standard tools on the same input, in the same run, and prints ratios.
#
# Usage (as root; bind mounts stage the input): bench/disk/run.sh [squashfs|fat|rss|all] [source dirs...]
#   squashfs: ours (durable: O_DIRECT + fsync, as `appliance build` writes) vs `mksquashfs -comp zstd -b 128K -processors $(nproc)`
#             (default sources: /usr/lib/x86_64-linux-gnu /usr/share); time ratio = ours/mksquashfs wall time, size
#             ratio = ours/theirs. mksquashfs leaves its output to the kernel's write-back, so ours does more work here.
#   fat:      ours (durable) vs `mkfs.vfat -F 32` + `mcopy -s` into a 1 GiB volume (default: /usr/share/doc
#             /usr/share/locale, copied first with only regular files and names FAT allows). Also prints two
#             like-for-like pairings: ours leaving write-back to the kernel (as mcopy does) vs mkfs.vfat + mcopy, and
#             ours durable vs mkfs.vfat + mcopy + `sync FILE` (an fsync of their image).
#   rss:      a 4 GiB GPT image (boot FAT + root-a squashfs of ~1 GiB of /usr/lib/x86_64-linux-gnu, then holes);
#             prints peak RSS (/usr/bin/time -v) and the host blocks the sparse image takes.
# ROUNDS=n repeats each pair n times, alternating the tools, and reports every round (the machine may be shared).
# Every timed run starts after a `sync`, so no tool pays for write-back the one before it left behind.
# Ours is the DiskBench driver published ReadyToRun, as scripts/build-demo.sh publishes the appliance CLI.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-all}; shift || true
rounds=${ROUNDS:-1}
work=$(mktemp -d /var/tmp/disk-bench.XXXXXX)
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

. "$root/bench/disk/publish-bench.sh"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

# stage DIR...: bind-mount each source (read-only) under $work/stage/<name> so both tools read one identical tree;
# sets STAGE (not run in a subshell, so the mounts are recorded for cleanup).
stage() {
  local dest=$work/stage
  STAGE=$dest
  mkdir -p "$dest"
  for src in "$@"; do
    local name; name=$(echo "$src" | sed 's|^/||; s|/|_|g')
    mkdir -p "$dest/$name"
    mount --bind -o ro "$src" "$dest/$name"
    mounts+=("$dest/$name")
  done
}

# timed LABEL CMD...: runs CMD after a sync, prints "LABEL wall cpu" in seconds.
timed() {
  local label=$1; shift
  sync
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >/dev/null
  read -r wall user sys < "$work/time"
  echo "$label $wall $(echo "$user + $sys" | bc)"
}

ratio() { echo "scale=3; $1 / $2" | bc; }

run_squashfs() {
  local dirs=("$@"); [ ${#dirs[@]} -eq 0 ] && dirs=(/usr/lib/x86_64-linux-gnu /usr/share)
  stage "${dirs[@]}"; local src=$STAGE
  echo "squashfs input: $(du -sh --apparent-size "$src" | cut -f1) in $(find "$src" | wc -l) entries; $(nproc) cores"
  for r in $(seq "$rounds"); do
    sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
    read -r _ tw tc < <(timed mksquashfs mksquashfs "$src" "$work/theirs.sqfs" -comp zstd -b 128K -noappend -quiet -no-progress -processors "$(nproc)")
    sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
    read -r _ ow oc < <(timed ours "$bench" --durable squashfs "$src" "$work/ours.sqfs")
    ts=$(stat -c %s "$work/theirs.sqfs"); os=$(stat -c %s "$work/ours.sqfs")
    echo "round $r: mksquashfs ${tw}s (cpu ${tc}s) $ts bytes | ours ${ow}s (cpu ${oc}s) $os bytes"
    echo "round $r: squashfs time ratio $(ratio "$ow" "$tw") (cpu ratio $(ratio "$oc" "$tc")), size ratio $(ratio "$os" "$ts")"
  done
  unsquashfs -s "$work/ours.sqfs" | grep -E "^(Compression|Block size|Number of inodes)" | tr '\n' ';'; echo
  rm -f "$work/theirs.sqfs" "$work/ours.sqfs"
}

run_fat() {
  local dirs=("$@"); [ ${#dirs[@]} -eq 0 ] && dirs=(/usr/share/doc /usr/share/locale)
  local src=$work/fat-src
  mkdir -p "$src"
  for d in "${dirs[@]}"; do cp -a "$d" "$src/"; done
  find "$src" ! -type f ! -type d -delete
  find "$src" -depth -name '*[][:*?<>|\\"]*' -exec rm -rf {} +
  find "$src" -depth \( -name '*.' -o -name '* ' \) -exec rm -rf {} +
  # FAT cannot hold two names that differ only in case; keep the first of each such group.
  python3 - "$src" <<'PY'
import os, shutil, sys
for d, dirs, files in os.walk(sys.argv[1]):
    seen = set()
    for n in sorted(dirs + files):
        if n.lower() in seen:
            p = os.path.join(d, n)
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
            if n in dirs: dirs.remove(n)
        seen.add(n.lower())
PY
  echo "fat input: $(du -sh --apparent-size "$src" | cut -f1) in $(find "$src" | wc -l) entries"
  cat > "$work/mk.sh" <<SH
mkfs.vfat -F 32 -n BENCH -C "$work/theirs.img" $((1024 * 1024)) >/dev/null && mcopy -s -i "$work/theirs.img" "$src"/* :: </dev/null
SH
  for r in $(seq "$rounds"); do
    rm -f "$work/theirs.img" "$work/ours.img"
    read -r _ tw tc < <(timed theirs bash "$work/mk.sh")
    read -r _ ow oc < <(timed ours "$bench" --durable fat "$src" "$work/ours.img" 1024)
    fsck.fat -n "$work/ours.img" >/dev/null
    echo "round $r: mkfs.vfat+mcopy ${tw}s (cpu ${tc}s) | ours ${ow}s (cpu ${oc}s); fsck.fat -n clean"
    echo "round $r: fat time ratio $(ratio "$ow" "$tw") (cpu ratio $(ratio "$oc" "$tc")); host blocks theirs $(du -k "$work/theirs.img" | cut -f1) KiB, ours $(du -k "$work/ours.img" | cut -f1) KiB"
    rm -f "$work/ours.img"
    read -r _ pw pc < <(timed ours "$bench" fat "$src" "$work/ours.img" 1024)
    fsck.fat -n "$work/ours.img" >/dev/null
    rm -f "$work/theirs.img"
    read -r _ sw sc < <(timed theirs bash -c "bash '$work/mk.sh' && sync '$work/theirs.img'")
    echo "round $r: also: ours page-cache ${pw}s, ratio $(ratio "$pw" "$tw") to mkfs.vfat+mcopy; mkfs.vfat+mcopy+sync ${sw}s, ratio of ours durable to it $(ratio "$ow" "$sw")"
  done
  rm -rf "$src" "$work/theirs.img" "$work/ours.img"
}

run_rss() {
  work_rss=$work/rss; mkdir -p "$work_rss"
  local dest=$work_rss/stage; mkdir -p "$dest/lib"
  mount --bind -o ro "${1:-/usr/lib/x86_64-linux-gnu}" "$dest/lib"; mounts+=("$dest/lib")
  local src=$dest
  echo "rss input: $(du -sh --apparent-size "$src" | cut -f1)"
  /usr/bin/time -v -o "$work/timev" "$bench" --durable disk "$src" "$work/disk.img" 4096
  echo "4 GiB image: peak RSS $(grep 'Maximum resident' "$work/timev" | awk '{print $NF}') KB, wall $(grep 'Elapsed' "$work/timev" | awk '{print $NF}'), apparent $(stat -c %s "$work/disk.img") bytes, host blocks $(du -k "$work/disk.img" | cut -f1) KiB"
  sgdisk -v "$work/disk.img" | grep -E "problems"
  rm -f "$work/disk.img"
}

case "$mode" in
  squashfs) run_squashfs "$@" ;;
  fat) run_fat "$@" ;;
  rss) run_rss "$@" ;;
  all) run_squashfs; run_fat; run_rss ;;
  *) echo "usage: $0 [squashfs|fat|rss|all] [dirs...]" >&2; exit 2 ;;
esac
