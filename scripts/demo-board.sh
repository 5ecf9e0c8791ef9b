# demo-board.sh: sourced by build-demo.sh and run-demo.sh. `demo_board "$@"` takes an optional `--board BOARD` off the
# arguments (left in ARGS) and sets what the two scripts need to know about the demo of that board:
#   board     x86_64-uefi (the default) or arm64-uefi
#   name      the profile and output name: demo-x86 (profiles/sites/demo-x86.yaml) or demo-arm64
#   profile   profiles/sites/$name.yaml
#   arch      the OS kit's architecture (kits/debian/make-os-image.sh ARCH)
#   hello     the busybox fixture archive (tests/fixtures/make-images.sh) preloaded as the demo app's image:
#             busybox.oci.tar is amd64 only, busybox-multi.oci.tar has amd64, arm64 and arm/v7
#   board_arg " --board BOARD" for the hints the scripts print, empty for the default board
# shellcheck shell=bash
demo_board() {
  board=x86_64-uefi
  ARGS=()
  while [ $# -gt 0 ]; do
    case $1 in
      --board) [ $# -ge 2 ] || { echo "${0##*/}: --board needs a board (x86_64-uefi or arm64-uefi)" >&2; exit 2; }
               board=$2; shift 2 ;;
      --board=*) board=${1#--board=}; shift ;;
      *) ARGS+=("$1"); shift ;;
    esac
  done
  case $board in
    x86_64-uefi) name=demo-x86 arch=amd64 hello=busybox.oci.tar board_arg="" ;;
    arm64-uefi) name=demo-arm64 arch=arm64 hello=busybox-multi.oci.tar board_arg=" --board arm64-uefi" ;;
    *) echo "${0##*/}: --board $board: the demo is made for x86_64-uefi or arm64-uefi" >&2; exit 2 ;;
  esac
  profile=profiles/sites/$name.yaml
}
