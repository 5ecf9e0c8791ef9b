# scripts/lib/build.sh: what the site build scripts share (sourced by build-demo.sh and build-site.sh, not run).
#
#   prepare_build [ARCH [HELLO]]
#                       Debian packages, the appliance CLI (out/cli), the OS kit, the busybox fixture image, the
#                       runtime release, a content store holding all three, the signing key profiles/keys/. Uses the
#                       network only on a cold cache (apt-get, NuGet, the Debian archive); then it works offline.
#   cluster_init DIR    `appliance cluster init DIR` (a cluster PKI; kept when complete).
#   build_image PROFILE OUTDIR [API_SERVER]
#                       `appliance build` under `unshare -n` (no network at all: a fresh network namespace with only a
#                       down loopback), then `appliance verify` of the image, manifest and SBOM.
#
# Environment: APPLIANCE_STORE (default out/store), OUT (default out), APPLIANCE_KEY_PASSWORD (DEMO ONLY default
# "appliance-demo"), APPLIANCE_RUNTIME_IMAGE (a published runtime release to use as it is, instead of
# kits/runtime/publish.sh), SOURCE_DATE_EPOCH. The caller sets $prog (its name, for messages) and runs from the repo.

out=${OUT:-$repo/out}
store=${APPLIANCE_STORE:-$out/store}
export APPLIANCE_KEY_PASSWORD=${APPLIANCE_KEY_PASSWORD:-appliance-demo}

step() { printf '== [%4ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 2; }
appliance() { dotnet "$repo/out/cli/appliance.dll" "$@"; }

prepare_build() {
  command -v dotnet >/dev/null || die "the .NET 10 SDK (dotnet) is not installed: see https://learn.microsoft.com/dotnet/core/install/linux-debian"

  step "Debian packages (tests/install-deps.sh)"
  bash tests/install-deps.sh

  step "publishing the appliance CLI (Release, ReadyToRun) to out/cli"
  # ReadyToRun compiles the CLI ahead of time, so a build does not spend its first part in the JIT; where the
  # ReadyToRun compiler package cannot be had (an offline host without it), the plain build works the same, only slower.
  local rid
  case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) rid= ;; esac
  rm -rf out/cli
  if [ -z "$rid" ] || ! dotnet publish src/ImageBuilder -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true \
       -o out/cli -nologo -v q -clp:NoSummary >&2; then
    echo "$prog: ReadyToRun publish not possible here; publishing without it" >&2
    dotnet publish src/ImageBuilder -c Release -o out/cli -nologo -v q -clp:NoSummary >&2
  fi
  [ -f "$repo/out/cli/appliance.dll" ] || die "$repo/out/cli/appliance.dll was not built"

  # ARCH: the OS kit's architecture (default amd64); HELLO: the busybox fixture archive preloaded as appliance/hello:1.0
  # (default busybox.oci.tar, amd64 only; busybox-multi.oci.tar has amd64, arm64 and arm/v7).
  local arch=${1:-amd64} hello=${2:-busybox.oci.tar}
  step "OS kit: kits/debian/make-os-image.sh $arch"
  local os_tar
  os_tar=$(bash kits/debian/make-os-image.sh "$arch" | tail -n 1)
  [ -f "$os_tar" ] || die "the kit did not produce an OS image ($os_tar)"

  step "preloaded image: tests/fixtures/make-images.sh (busybox, as appliance/hello:1.0)"
  local fixtures
  fixtures=$(bash tests/fixtures/make-images.sh | tail -n 1)
  [ -f "$fixtures/$hello" ] || die "tests/fixtures/make-images.sh did not produce $fixtures/$hello"

  local release
  if [ -n "${APPLIANCE_RUNTIME_IMAGE:-}" ]; then
    step "runtime release: $APPLIANCE_RUNTIME_IMAGE (APPLIANCE_RUNTIME_IMAGE)"
    release=$APPLIANCE_RUNTIME_IMAGE
  else
    step "runtime release: kits/runtime/publish.sh (NativeAOT, linux-x64 + linux-arm64; reused when its sources did not change)"
    release=$(bash kits/runtime/publish.sh | tail -n 1)
  fi
  [ -f "$release" ] || die "no runtime release at $release (kits/runtime/publish.sh makes it)"

  step "content store $store"
  mkdir -p "$store"
  # The release names itself appliance/runtime:VERSION, the name base.yaml's runtime.version takes.
  appliance store add --store "$store" "$release" >&2
  # The profiles name the OS image without the architecture (base.yaml: appliance/os-debian:bookworm),
  # and preload appliance/hello:1.0 (base.yaml), which the busybox fixture image fills.
  appliance store add --store "$store" --name appliance/os-debian:bookworm "$os_tar" >&2
  appliance store add --store "$store" --name appliance/hello:1.0 "$fixtures/$hello" >&2

  step "signing key profiles/keys/appliance.key"
  if [ ! -f profiles/keys/appliance.key ]; then
    appliance key generate -o profiles/keys >&2
  else
    echo "keeping the existing key pair in profiles/keys/" >&2
  fi
}

cluster_init() {
  step "cluster PKI $1"
  # It holds CA keys, so it is git-ignored and made here once, then kept (a second `cluster init` on a complete PKI
  # changes nothing).
  appliance cluster init "$1" >&2
}

build_image() { # build_image PROFILE OUTDIR [API_SERVER]
  local profile=$1 dir=$2 name
  name=$(basename "$profile" .yaml)
  local api=()
  [ -z "${3:-}" ] || api=(--api-server "$3")
  command -v unshare >/dev/null || die "unshare (util-linux) is not installed"
  step "appliance build $profile -o $dir (offline: unshare -n)"
  # A new network namespace holds only a loopback that is down: the build cannot reach anything, and does not need to.
  unshare -n -- dotnet "$repo/out/cli/appliance.dll" build "$profile" -o "$dir" --store "$store" "${api[@]}" \
    || die "appliance build $profile failed"
  step "appliance verify $dir/$name.*"
  for f in "$name.img" "$name.manifest.json" "$name.cdx.json"; do
    appliance verify "$dir/$f" --key profiles/keys/appliance.pub
  done
}
