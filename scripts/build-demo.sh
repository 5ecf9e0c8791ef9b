#!/usr/bin/env bash
# build-demo.sh: builds, signs and verifies the demo site image (profiles/sites/demo-x86.yaml) on a Debian 12 host.
#
#   bash scripts/build-demo.sh            # -> out/demo/demo-x86.img (+ .manifest.json, .cdx.json, *.sigstore.json)
#   bash scripts/build-demo.sh --board arm64-uefi   # -> out/demo/demo-arm64.img (profiles/sites/demo-arm64.yaml)
#
# Steps: install the Debian packages the tools need (tests/install-deps.sh), publish the appliance CLI to out/cli,
# publish the runtime release (kits/runtime/publish.sh: appliance-runtime + appliance-firstboot), make the board's
# OS kit (kits/debian/make-os-image.sh, cached under ~/.cache/appliance), make the busybox fixture image
# (tests/fixtures/make-images.sh; multi-platform for arm64), fill a content store, make a demo key pair in profiles/keys/ and a cluster PKI in
# profiles/pki/demo if there are none, then `appliance build` (offline, under `unshare -n`) and `appliance verify`.
# These steps live in scripts/lib/build.sh, which scripts/build-site.sh shares.
# Idempotent: a second run reuses the caches, the store and the key, and rebuilds the same bytes.
#
# Environment:
#   APPLIANCE_STORE         content store (default: out/store)
#   OUT                     output root (default: out; the image goes to $OUT/demo)
#   APPLIANCE_KEY_PASSWORD  password of profiles/keys/appliance.key. DEMO ONLY: when unset, this script
#                           uses the documented demo password "appliance-demo". Never use it for a real key.
#   APPLIANCE_RUNTIME_IMAGE a published runtime release to use (default: kits/runtime/publish.sh makes or reuses one)
#   SOURCE_DATE_EPOCH       timestamps of the image (default: the OS image's creation time)
#   DEMO_API_SERVER         server URL in out/demo/demo-x86.kubeconfig (default https://127.0.0.1:6443, qemu's forwarded port)
# Needs the .NET 10 SDK, and the Debian archive on the first run only (kit and fixture downloads are cached).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
prog=build-demo
. scripts/lib/build.sh
# shellcheck source=scripts/demo-board.sh
. scripts/demo-board.sh
demo_board "$@"
[ ${#ARGS[@]} -eq 0 ] || die "unknown argument ${ARGS[0]} (usage: build-demo.sh [--board x86_64-uefi|arm64-uefi])"
demo=$out/demo

prepare_build "$arch" "$hello"
# The demo profiles name it as cluster.pki.
cluster_init profiles/pki/demo
# The demo is reached through qemu's forwarded port (hostfwd=tcp:127.0.0.1:6443-:6443), so its kubeconfig names that.
build_image "$profile" "$demo" "${DEMO_API_SERVER:-https://127.0.0.1:6443}"

step "done in ${SECONDS}s"
cat <<TXT

The demo image:   $demo/$name.img  (sparse: $(du -h "$demo/$name.img" | cut -f1) on disk of $(du -h --apparent-size "$demo/$name.img" | cut -f1))
Its SBOM:         $demo/$name.cdx.json
Its kubeconfig:   $demo/$name.kubeconfig  (admin of the demo cluster, server ${DEMO_API_SERVER:-https://127.0.0.1:6443})
Its signatures:   $demo/*.sigstore.json  (check: appliance verify $demo/$name.img --key profiles/keys/appliance.pub --output json)

Boot it in qemu (UEFI firmware, no network but the forwarded API port), wait for the node and the demo app:
  bash scripts/run-demo.sh$board_arg          (OUT=$out if you set OUT; --stop powers it off, --again boots the same disk again)
TXT
