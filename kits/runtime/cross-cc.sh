#!/bin/sh
# The C compiler driver NativeAOT links a foreign architecture with (publish.sh): the Debian cross gcc named by
# APPLIANCE_CROSS_CC (aarch64-linux-gnu-gcc, arm-linux-gnueabihf-gcc). ILCompiler passes clang's --target=TRIPLE,
# which gcc does not know; a cross gcc targets one architecture already, so the argument is dropped.
for a; do
  shift
  case $a in --target=*) ;; *) set -- "$@" "$a" ;; esac
done
exec "${APPLIANCE_CROSS_CC:?publish.sh sets APPLIANCE_CROSS_CC}" "$@"
