#!/usr/bin/env bash
# Benchmarks our ISO 9660 writer against xorriso on the same synthetic tree, in the same run, and prints ratios.
#
# Usage: bench/iso/run.sh [small-files] [large-MiB]
#   The tree: <small-files> (default 20000) small files of 1–16 KiB in 200 directories, three large files of
#   <large-MiB> (default 100) MiB each of incompressible data, and an 8 MiB FAT efiboot.img.
#   Theirs: xorriso -as mkisofs -R -J -e efiboot.img -no-emul-boot -isohybrid-mbr isohdpfx.bin -isohybrid-gpt-basdat
#           (page cache, no fsync; without -isohybrid-mbr xorriso writes no MBR/GPT at all).
#   Ours:   the DiskBench driver (bench/disk) in iso mode: Rock Ridge, the same El Torito EFI entry, the same isohybrid
#           layout; "durable" as `appliance build` writes (O_DIRECT, fsync, rename), and "page-cache" like xorriso.
# ROUNDS=n (default 3) runs xorriso, ours durable, ours page-cache n times in turn (paired rounds) and prints every
# round and the medians; time ratio = ours / xorriso wall time, size ratio = ours / xorriso file size.
# Every timed run starts after a `sync`, so no tool pays for write-back the one before it left behind.
set -euo pipefail
mbr=${ISOHDPFX:-/usr/lib/ISOLINUX/isohdpfx.bin}
[ -f "$mbr" ] || { echo "$mbr is missing (apt-get install isolinux, or set ISOHDPFX)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
small=${1:-20000}; large=${2:-100}
rounds=${ROUNDS:-3}
work=$(mktemp -d /var/tmp/iso-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

. "$root/bench/disk/publish-bench.sh"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

src=$work/src
python3 - "$src" "$small" "$large" <<'PY'
import os, random, sys
root, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(18)
for i in range(small):
    d = os.path.join(root, f"dir{i % 200:03d}", f"sub{i % 7}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file-{i:06d}.conf"), "wb") as f:
        f.write(rnd.randbytes(rnd.randint(1024, 16384)))
os.makedirs(os.path.join(root, "large"), exist_ok=True)
for i in range(3):
    with open(os.path.join(root, "large", f"blob{i}.bin"), "wb") as f:
        for _ in range(large):
            f.write(os.urandom(1 << 20))
PY
truncate -s 8M "$src/efiboot.img" && mkfs.vfat -n EFIBOOT "$src/efiboot.img" >/dev/null
find "$src" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
echo "iso input: $(du -sh --apparent-size "$src" | cut -f1) in $(find "$src" | wc -l) entries; $(nproc) cores"

# timed CMD...: runs CMD after a sync, prints "wall cpu" in seconds.
timed() {
  sync
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >/dev/null 2>&1
  read -r wall user sys < "$work/time"
  echo "$wall $(echo "$user + $sys" | bc)"
}
ratio() { echo "scale=3; $1 / $2" | bc; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

tw=(); dw=(); pw=()
for r in $(seq "$rounds"); do
  rm -f "$work/theirs.iso" "$work/ours.iso"
  read -r t tc < <(timed xorriso -as mkisofs -R -J -V BENCH -o "$work/theirs.iso" -e efiboot.img -no-emul-boot -isohybrid-mbr "$mbr" -isohybrid-gpt-basdat "$src")
  read -r d dc < <(timed "$bench" --durable iso "$src" "$work/ours.iso" efiboot.img "$mbr")
  ts=$(stat -c %s "$work/theirs.iso"); os=$(stat -c %s "$work/ours.iso")
  rm -f "$work/ours.iso"
  read -r p pc < <(timed "$bench" iso "$src" "$work/ours.iso" efiboot.img "$mbr")
  echo "round $r: xorriso ${t}s (cpu ${tc}s) $ts bytes | ours durable ${d}s (cpu ${dc}s) $os bytes | ours page-cache ${p}s (cpu ${pc}s)"
  tw+=("$t"); dw+=("$d"); pw+=("$p")
done
mt=$(median "${tw[@]}"); md=$(median "${dw[@]}"); mp=$(median "${pw[@]}")
echo "median: xorriso ${mt}s, ours durable ${md}s (ratio $(ratio "$md" "$mt")), ours page-cache ${mp}s (ratio $(ratio "$mp" "$mt"))"
echo "size: xorriso $ts bytes (with Joliet), ours $os bytes, ratio $(ratio "$os" "$ts")"
for f in theirs ours; do
  echo "$f: $(xorriso -indev "$work/$f.iso" -report_el_torito plain -report_system_area plain 2>/dev/null | grep -E "boot img|GPT start|MBR partition  |summary" | tr -s ' ' | paste -sd ';')"
done
