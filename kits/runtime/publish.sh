#!/usr/bin/env bash
# Publishes the runtime release: appliance-runtime (src/ClusterRuntime) and appliance-firstboot (src/Firstboot) as the
# device runs them (NativeAOT: trimmed, self-contained, no JIT) for each architecture, into out/runtime/RID/, and packs
# them as one multi-platform OCI image appliance/runtime:VERSION (out/runtime/appliance-runtime.oci.tar). See README.md.
#
# usage: publish.sh [--store DIR] [ARCH...]
#   ARCH         amd64 | arm64 | armv7 (default: amd64 arm64; armv7 needs the linux-arm packs, not served everywhere)
#   --store DIR  also add the image to the content store DIR (with the appliance CLI built from this repo)
# Prints the archive's path; skips the publishes when the sources did not change since the archive was made.
# Needs gcc + libc6-dev, and for a foreign ARCH its cross toolchain (.ci/packages.d/runtime.txt); about 3 to 6
# minutes per program and architecture on 2 cores.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
kit=$repo/kits/runtime
store=""
arches=()
while [ $# -gt 0 ]; do
  case $1 in
    --store) store=$2; shift 2 ;;
    amd64|arm64|armv7) arches+=("$1"); shift ;;
    *) sed -n '6,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[ ${#arches[@]} -gt 0 ] || arches=(amd64 arm64)
die() { echo "publish.sh: $*" >&2; exit 2; }
command -v gcc >/dev/null || die "gcc is not installed (the NativeAOT link needs it: apt-get install gcc libc6-dev)"

case $(uname -m) in x86_64) host=amd64 ;; aarch64) host=arm64 ;; armv7l) host=armv7 ;; *) host=none ;; esac
# The release's timestamps: SOURCE_DATE_EPOCH, else the commit's time, so two publishes of one commit give one image.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 1700000000)}

out=$repo/out/runtime
archive=$out/appliance-runtime.oci.tar
add_to_store() {
  [ -z "$store" ] || dotnet run --project "$repo/src/ImageBuilder" -c Release --no-launch-profile -- store add --store "$store" "$archive" >&2
}
# Skip the publishes when the archive was made from the same sources (the commit, uncommitted changes and new files
# under src/ and the kit), SDK, architectures and epoch. Without git every run publishes.
stamp=""
if git -C "$repo" rev-parse HEAD >/dev/null 2>&1; then
  paths=(src Directory.Build.props Directory.Packages.props global.json kits/runtime tests/fixtures/make_images.py)
  stamp=$( { git -C "$repo" rev-parse HEAD; git -C "$repo" diff HEAD -- "${paths[@]}"
             git -C "$repo" ls-files -o --exclude-standard -- "${paths[@]}" | sort | while read -r f; do sha256sum "$repo/$f"; done
             dotnet --version; echo "${arches[*]} $SOURCE_DATE_EPOCH"; } | sha256sum | cut -c1-64)
fi
if [ -n "$stamp" ] && [ -s "$archive" ] && [ "$(cat "$archive.inputs" 2>/dev/null)" = "$stamp" ]; then
  echo "publish.sh: up to date: $archive (${arches[*]})" >&2
  add_to_store
  echo "$archive"
  exit 0
fi
rm -f "$archive.inputs"
specs=()
for arch in "${arches[@]}"; do
  case $arch in
    amd64) rid=linux-x64;   triplet=x86_64-linux-gnu ;;
    arm64) rid=linux-arm64; triplet=aarch64-linux-gnu ;;
    armv7) rid=linux-arm;   triplet=arm-linux-gnueabihf ;;
  esac
  cross=()
  if [ "$arch" != "$host" ]; then
    # NativeAOT links with the host's compiler driver; for another architecture it takes the cross gcc through
    # cross-cc.sh (which drops the clang-only --target= argument) and the cross objcopy for the symbol strip.
    command -v "$triplet-gcc" >/dev/null || die "$arch: $triplet-gcc is not installed (the cross link needs it: .ci/packages.d/runtime.txt)"
    cross=(-p:CppCompilerAndLinker="$kit/cross-cc.sh" -p:ObjCopyName="$triplet-objcopy")
    export APPLIANCE_CROSS_CC=$triplet-gcc
  fi
  dir=$out/$rid
  rm -rf "$dir"
  for project in ClusterRuntime Firstboot; do
    echo "publish.sh: $project for $rid" >&2
    dotnet publish "$repo/src/$project" -c Release -r "$rid" -p:PublishAot=true "${cross[@]}" -o "$dir" -nologo -clp:ErrorsOnly >&2 \
      || die "dotnet publish src/$project -r $rid failed"
  done
  # the debug symbols (twice the program's size) and the XML docs stay out of what a device gets
  rm -f "$dir"/*.dbg "$dir"/*.pdb "$dir"/*.xml
  specs+=("$arch=$dir")
done

# The pause image the agent's sandboxes run (kits/pause: multi-platform, 0.8 MB) travels with the programs: root-a gets
# it as /usr/lib/appliance/pause.oci.tar, which the agent imports like the site's preloaded images.
pause=$(bash "$repo/kits/pause/make-pause-image.sh" | tail -n 1)
[ -f "$pause" ] || die "kits/pause/make-pause-image.sh did not produce the pause image"
for s in "${specs[@]}"; do cp "$pause" "${s#*=}/pause.oci.tar"; done

# The version the programs print (appliance-runtime --version): VersionPrefix+commit. The image's tag is the part
# before '+' (a tag cannot hold '+'); the whole version is the image's org.opencontainers.image.version label.
full=""
for s in "${specs[@]}"; do
  if full=$("${s#*=}/appliance-runtime" --version 2>/dev/null); then break; fi
  full=""
done
if [ -z "$full" ]; then
  full=$(dotnet msbuild "$repo/src/ClusterRuntime" -nologo -t:GetAssemblyVersion -getProperty:InformationalVersion)
fi
version=${full%%+*}
python3 "$kit/make_runtime_image.py" "$archive.tmp" "appliance/runtime:$version" "$full" "${specs[@]}"
mv "$archive.tmp" "$archive"
echo "publish.sh: appliance/runtime:$version ($full) for ${arches[*]}: $archive" >&2
for s in "${specs[@]}"; do
  echo "publish.sh:   ${s%%=*}: $(du -b "${s#*=}"/* | awk '{ printf "%s %.1f MB, ", substr($2, match($2, /[^\/]*$/)), $1 / 1e6 }')" >&2
done

[ -z "$stamp" ] || echo "$stamp" > "$archive.inputs"
add_to_store
echo "$archive"
