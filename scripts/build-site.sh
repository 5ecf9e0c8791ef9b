#!/usr/bin/env bash
# build-site.sh: builds, signs and verifies the two images of a two-node site: profiles/sites/site-server.yaml and
# profiles/sites/site-agent.yaml, one cluster (profiles/pki/site), on a Debian 12 host.
#
#   bash scripts/build-site.sh                # -> out/site/site-server.img, out/site/site-agent.img (+ manifests, SBOMs, signatures)
#   bash scripts/build-site.sh --prepare      # only the preparation (may use the network on a cold cache)
#   bash scripts/build-site.sh --build        # only the builds (needs a prepared store; runs with no network at all)
#
# The preparation is build-demo.sh's (scripts/lib/build.sh): Debian packages, the appliance CLI, the OS kit, the
# busybox image, the runtime release, the content store, the signing key; then the cluster PKI profiles/pki/site.
# Each `appliance build` runs under `unshare -n`, in a network namespace of its own with nothing in it.
# Environment: as scripts/build-demo.sh (APPLIANCE_STORE, OUT, APPLIANCE_KEY_PASSWORD, APPLIANCE_RUNTIME_IMAGE,
# SOURCE_DATE_EPOCH), and SITE_API_SERVER: the server URL in out/site/site-server.kubeconfig (default
# https://127.0.0.1:6443, the port scripts/run-site.sh forwards to the server VM).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
prog=build-site
. scripts/lib/build.sh
site=$out/site
api=${SITE_API_SERVER:-https://127.0.0.1:6443}

phase=all
case "${1:-}" in
  "") ;;
  --prepare) phase=prepare ;;
  --build) phase=build ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

if [ "$phase" != build ]; then
  prepare_build
  # Both profiles name it as cluster.pki: the server's image takes its CAs and token, the agent's its token.
  cluster_init profiles/pki/site
fi
[ "$phase" != prepare ] || { step "prepared in ${SECONDS}s"; exit 0; }

[ -f out/cli/appliance.dll ] || die "out/cli/appliance.dll does not exist: run bash scripts/build-site.sh --prepare first"
# The kubeconfig is the operator's: the server's image is reached through the host's forwarded port.
build_image profiles/sites/site-server.yaml "$site" "$api"
build_image profiles/sites/site-agent.yaml "$site"

step "done in ${SECONDS}s"
cat <<TXT

The server image:  $site/site-server.img  ($(du -h "$site/site-server.img" | cut -f1) on disk of $(du -h --apparent-size "$site/site-server.img" | cut -f1))
The agent image:   $site/site-agent.img  ($(du -h "$site/site-agent.img" | cut -f1) on disk of $(du -h --apparent-size "$site/site-agent.img" | cut -f1))
The kubeconfig:    $site/site-server.kubeconfig  (admin of the site's cluster, server $api)

Boot both in qemu, joined by a LAN of their own (a socket network on loopback), and wait for both nodes:
  bash scripts/run-site.sh          (OUT=$out if you set OUT; --stop powers both off)
TXT
