#!/usr/bin/env bash
# build-demo.sh: builds, signs and verifies the demo site image (profiles/sites/demo-x86.yaml) on a Debian 12 host.
#
#   bash scripts/build-demo.sh            # -> out/demo/demo-x86.img (+ .manifest.json, .cdx.json, *.sigstore.json)
#   bash scripts/build-demo.sh --board arm64-uefi   # the same demo for 64-bit ARM (profiles/sites/demo-arm64.yaml)
#                                                   # -> out/demo/demo-arm64.img
#
# Steps: install the Debian packages the tools need (tests/install-deps.sh), publish the appliance CLI to out/cli,
# publish the runtime release (kits/runtime/publish.sh: appliance-runtime + appliance-firstboot), make the amd64
# OS kit (kits/debian/make-os-image.sh, cached under ~/.cache/appliance), make the busybox fixture image
# (tests/fixtures/make-images.sh; multi-platform), fill a content store, make a demo key pair in profiles/keys/ and a cluster PKI in
# profiles/pki/demo if there are none, then `appliance build` and `appliance verify`.
# Idempotent: a second run reuses the caches, the store and the key, and rebuilds the same bytes.
#
# Environment:
#   APPLIANCE_STORE         content store (default: out/store)
#   OUT                     output root (default: out; the image goes to $OUT/demo)
#   APPLIANCE_KEY_PASSWORD  password of profiles/keys/appliance.key. DEMO ONLY: when unset, this script
#                           uses the documented demo password "appliance-demo". Never use it for a real key.
#   SOURCE_DATE_EPOCH       timestamps of the image (default: the OS image's creation time)
#   DEMO_API_SERVER         server URL in out/demo/NAME.kubeconfig (default https://127.0.0.1:6443, qemu's forwarded port)
#   APPLIANCE_RUNTIME_IMAGE a runtime release already published (kits/runtime/publish.sh) to use instead of publishing one
# Needs the .NET 10 SDK, and the Debian archive on the first run only (kit and fixture downloads are cached).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=${OUT:-$repo/out}
store=${APPLIANCE_STORE:-$out/store}
demo=$out/demo
# shellcheck source=scripts/demo-board.sh
. "$repo/scripts/demo-board.sh"
demo_board "$@"
export APPLIANCE_KEY_PASSWORD=${APPLIANCE_KEY_PASSWORD:-appliance-demo}

step() { printf '== [%4ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'build-demo: %s\n' "$*" >&2; exit 2; }
[ ${#ARGS[@]} -eq 0 ] || die "unknown argument ${ARGS[0]} (usage: build-demo.sh [--board x86_64-uefi|arm64-uefi])"

command -v dotnet >/dev/null || die "the .NET 10 SDK (dotnet) is not installed: see https://learn.microsoft.com/dotnet/core/install/linux-debian"

step "Debian packages (tests/install-deps.sh)"
bash tests/install-deps.sh

step "publishing the appliance CLI (Release, ReadyToRun) to out/cli"
# ReadyToRun compiles the CLI ahead of time, so a build does not spend its first part in the JIT; where the
# ReadyToRun compiler package cannot be had (an offline host without it), the plain build works the same, only slower.
case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) rid= ;; esac
rm -rf out/cli
if [ -z "$rid" ] || ! dotnet publish src/ImageBuilder -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true \
     -o out/cli -nologo -v q -clp:NoSummary >&2; then
  echo "build-demo: ReadyToRun publish not possible here; publishing without it" >&2
  dotnet publish src/ImageBuilder -c Release -o out/cli -nologo -v q -clp:NoSummary >&2
fi
dll=$repo/out/cli/appliance.dll
[ -f "$dll" ] || die "$dll was not built"
appliance() { dotnet "$dll" "$@"; }

step "OS kit: kits/debian/make-os-image.sh $arch"
os_tar=$(bash kits/debian/make-os-image.sh "$arch" | tail -n 1)
[ -f "$os_tar" ] || die "the kit did not produce an OS image ($os_tar)"

step "preloaded image: tests/fixtures/make-images.sh (busybox, as appliance/hello:1.0)"
fixtures=$(bash tests/fixtures/make-images.sh | tail -n 1)
[ -f "$fixtures/$hello" ] || die "tests/fixtures/make-images.sh did not produce $fixtures/$hello"

if [ -n "${APPLIANCE_RUNTIME_IMAGE:-}" ]; then
  step "runtime release: $APPLIANCE_RUNTIME_IMAGE (APPLIANCE_RUNTIME_IMAGE)"
  release=$APPLIANCE_RUNTIME_IMAGE
else
  step "runtime release: kits/runtime/publish.sh (NativeAOT, linux-x64 + linux-arm64; reused when its sources did not change)"
  release=$(bash kits/runtime/publish.sh | tail -n 1)
fi
[ -f "$release" ] || die "kits/runtime/publish.sh did not produce the runtime release ($release)"

step "content store $store"
mkdir -p "$store"
# The release names itself appliance/runtime:VERSION, the name base.yaml's runtime.version takes.
appliance store add --store "$store" "$release" >&2
# The profile names the OS image without the architecture (base.yaml: appliance/os-debian:bookworm),
# and preloads appliance/hello:1.0 (base.yaml), which the demo fills with the busybox fixture image.
appliance store add --store "$store" --name appliance/os-debian:bookworm "$os_tar" >&2
appliance store add --store "$store" --name appliance/hello:1.0 "$fixtures/$hello" >&2

step "signing key profiles/keys/appliance.key"
if [ ! -f profiles/keys/appliance.key ]; then
  appliance key generate -o profiles/keys >&2
else
  echo "keeping the existing key pair in profiles/keys/" >&2
fi

step "cluster PKI profiles/pki/demo"
# demo-x86.yaml names it as cluster.pki; it holds CA keys, so it is git-ignored and made here once, then kept (a second
# `cluster init` on a complete PKI changes nothing).
appliance cluster init profiles/pki/demo >&2

step "appliance build $profile -o $demo"
# The demo is reached through qemu's forwarded port (hostfwd=tcp:127.0.0.1:6443-:6443), so its kubeconfig names that.
appliance build "$profile" -o "$demo" --store "$store" --api-server "${DEMO_API_SERVER:-https://127.0.0.1:6443}"

step "appliance verify"
for f in "$name.img" "$name.manifest.json" "$name.cdx.json"; do
  appliance verify "$demo/$f" --key profiles/keys/appliance.pub
done

step "done in ${SECONDS}s"
cat <<TXT

The demo image:   $demo/$name.img  (sparse: $(du -h "$demo/$name.img" | cut -f1) on disk of $(du -h --apparent-size "$demo/$name.img" | cut -f1))
Its SBOM:         $demo/$name.cdx.json
Its kubeconfig:   $demo/$name.kubeconfig  (admin of the demo cluster, server ${DEMO_API_SERVER:-https://127.0.0.1:6443})
Its signatures:   $demo/*.sigstore.json  (check: appliance verify $demo/$name.img --key profiles/keys/appliance.pub --output json)

Boot it in qemu (UEFI firmware, no network but the forwarded API port), wait for the node and the demo app:
  bash scripts/run-demo.sh$board_arg          (OUT=$out if you set OUT; --stop powers it off, --again boots the same disk again)
TXT
