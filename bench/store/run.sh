#!/usr/bin/env bash
# Benchmark: `appliance store add` of a 500 MB oci-archive (one incompressible, uncompressed layer) against
# `sha256sum` of the same file, in the same run. Prints both throughputs and the ratio (target: <= 1.5).
# Usage: bench/store/run.sh [SIZE_MB]   (default 500; work files under ${TMPDIR:-/tmp}/appliance-bench-store)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
size_mb=${1:-500}
work=${TMPDIR:-/tmp}/appliance-bench-store
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

dotnet build "$root/src/ImageBuilder" -c Release -nologo -clp:ErrorsOnly >/dev/null
appliance=(dotnet "$root/src/ImageBuilder/bin/Release/net10.0/appliance.dll")

# The archive: one layer holding one random file, as an oci-archive (python writes it; GNU tar makes the layer).
head -c "${size_mb}M" /dev/urandom > "$work/random.bin"
tar -C "$work" --owner=0 --group=0 --mtime=@0 -cf "$work/layer.tar" random.bin
rm "$work/random.bin"
python3 - "$work" <<'PY'
import hashlib, json, os, sys, tarfile
w = sys.argv[1]
def sha_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()
dumps = lambda o: json.dumps(o, separators=(",", ":")).encode()
layer = os.path.join(w, "layer.tar"); ld = sha_file(layer); ls = os.path.getsize(layer)
cfg = dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [ld]}})
cd = "sha256:" + hashlib.sha256(cfg).hexdigest()
man = dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cfg)},
             "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls}]})
md = "sha256:" + hashlib.sha256(man).hexdigest()
idx = dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
             "size": len(man), "annotations": {"io.containerd.image.name": "example.local/bench/random:1"}}]})
import io
with tarfile.open(os.path.join(w, "bench.oci.tar"), "w", format=tarfile.USTAR_FORMAT) as t:
    def add(name, data=None, path=None):
        ti = tarfile.TarInfo(name); ti.mtime = 0
        if path:
            ti.size = os.path.getsize(path)
            with open(path, "rb") as f: t.addfile(ti, f)
        else:
            ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'); add("index.json", idx)
    add("blobs/sha256/" + cd[7:], cfg); add("blobs/sha256/" + md[7:], man); add("blobs/sha256/" + ld[7:], path=layer)
PY
rm "$work/layer.tar"
archive=$work/bench.oci.tar
bytes=$(stat -c %s "$archive")
cat "$archive" > /dev/null   # both runs start from a warm page cache

now() { date +%s.%N; }
bs=; best_add=
for round in 1 2 3; do
  t0=$(now); sha256sum "$archive" > /dev/null; t1=$(now)
  rm -rf "$work/store"
  "${appliance[@]}" store --store "$work/store" add "$archive" > /dev/null; t2=$(now)
  s=$(echo "$t1 - $t0" | bc -l); a=$(echo "$t2 - $t1" | bc -l)
  printf 'round %d: sha256sum %.2f s, store add %.2f s\n' "$round" "$s" "$a"
  [ -z "$best_add" ] || [ "$(echo "$a < $best_add" | bc -l)" = 1 ] && best_add=$a
  [ -z "$bs" ] || [ "$(echo "$s < $bs" | bc -l)" = 1 ] && bs=$s
done
best_sha=$bs
mb=$(echo "$bytes / 1048576" | bc -l)
printf 'archive: %.0f MiB\n' "$mb"
printf 'sha256sum:        %.2f s  %.0f MiB/s\n' "$best_sha" "$(echo "$mb / $best_sha" | bc -l)"
printf 'appliance store add: %.2f s  %.0f MiB/s\n' "$best_add" "$(echo "$mb / $best_add" | bc -l)"
printf 'ratio (store add / sha256sum): %.2f (target <= 1.5)\n' "$(echo "$best_add / $best_sha" | bc -l)"
