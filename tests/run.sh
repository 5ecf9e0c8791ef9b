#!/usr/bin/env bash
# Runs every test in Appliance.sln and prints one closing line: "N passed, N failed, N skipped".
# Usage: tests/run.sh [extra dotnet test arguments, e.g. --filter Category=Unit]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tests/install-deps.sh || { echo "tests/run.sh: could not install the test dependencies" >&2; exit 1; }
# Warm the OS-kit cache once, before the tests run in parallel (a no-op when warm). When the Debian
# archive cannot be reached on a cold cache, the tests that need the kit say "skipped" and why.
bash kits/debian/make-os-image.sh amd64 >/dev/null 2>&1 || echo "tests/run.sh: kits/debian/make-os-image.sh amd64 failed; OS-image tests will skip" >&2
results="$root/TestResults"
rm -rf "$results"
dotnet build Appliance.sln -c Release -nologo -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }
# A whole run (no arguments) publishes the runtime release once (kits/runtime/publish.sh: appliance-runtime and
# appliance-firstboot, NativeAOT, linux-x64 and linux-arm64, packed as appliance/runtime:VERSION) and tests what ships:
# the black-box tests start this machine's published appliance-runtime (APPLIANCE_RUNTIME,
# tests/ClusterRuntime.Tests/Support/RuntimeProcess.cs), and the boot tests build their images with the release
# (APPLIANCE_RUNTIME_IMAGE, tests/ImageBuilder.Tests/Boot/BootTestSupport.cs). A filtered run starts the built dll and
# takes a release already published in out/runtime/, unless the variables are set.
if [ $# -eq 0 ] && [ -z "${APPLIANCE_RUNTIME:-}" ]; then
  APPLIANCE_RUNTIME_IMAGE=$(bash kits/runtime/publish.sh | tail -n 1) || { echo "tests/run.sh: kits/runtime/publish.sh failed"; echo "0 passed, 1 failed"; exit 1; }
  case $(uname -m) in aarch64) rid=linux-arm64 ;; *) rid=linux-x64 ;; esac
  APPLIANCE_RUNTIME=$root/out/runtime/$rid/appliance-runtime
  export APPLIANCE_RUNTIME APPLIANCE_RUNTIME_IMAGE
  echo "tests/run.sh: the runtime under test is $APPLIANCE_RUNTIME (NativeAOT); the release is $APPLIANCE_RUNTIME_IMAGE"
fi
run_tests() {
  dotnet test Appliance.sln -c Release --no-build --nologo \
    --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@" 2>&1 | tee -a "$results.log"
  return "${PIPESTATUS[0]}"
}
: > "$results.log"
if [ $# -eq 0 ]; then
  # Two stages, both always run: everything but the qemu boots, then the qemu boots (Category=Boot) on a machine no
  # longer loaded by the runtime tests. Emulated boards time guest interrupts by the host clock; under a load of
  # twenty runnable threads qemu's raspi2b SD host misses one and the guest loses its root disk.
  run_tests --filter "Category!=Boot"; status=$?
  echo "tests/run.sh: stage 2, the qemu boots"
  run_tests --filter "Category=Boot"; status2=$?
  [ "$status" -ne 0 ] || status=$status2
else
  run_tests "$@"; status=$?
fi
# Sum the counters from every project's TRX file.
read -r passed failed skipped < <(python3 - "$results" <<'PY'
import sys, glob, xml.etree.ElementTree as ET
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(path).getroot().find(".//{*}Counters")
    if c is None: continue
    p += int(c.get("passed", 0)); f += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    # xunit's skipped tests are counted in total but not in executed (TRX outcome NotExecuted).
    s += int(c.get("total", 0)) - int(c.get("executed", 0))
print(p, f, s)
PY
)
# Each skipped test with its reason (xunit's Assert.Skip message, kept in the TRX files).
python3 - "$results" <<'PY2'
import sys, glob, xml.etree.ElementTree as ET
skips = []
for path in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    for r in ET.parse(path).getroot().iter():
        if r.tag.endswith("UnitTestResult") and r.get("outcome") == "NotExecuted":
            msg = next((e.text.strip() for e in r.iter() if e.tag.endswith("Message") and e.text), "no reason given")
            skips.append(f"  {r.get('testName')}: {msg}")
if skips:
    print("Skipped tests and why:")
    print("\n".join(skips))
PY2
# Each failed test with the head of its message, last, so that a log cut to its tail still names them.
python3 - "$results" <<'PY3'
import sys, glob, xml.etree.ElementTree as ET
fails = []
for path in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    for r in ET.parse(path).getroot().iter():
        if r.tag.endswith("UnitTestResult") and r.get("outcome") not in ("Passed", "NotExecuted"):
            msg = next((e.text.strip() for e in r.iter() if e.tag.endswith("Message") and e.text), "no message")
            fails.append(f"  {r.get('testName')} ({r.get('outcome')}, {r.get('duration')}): " + " | ".join(msg.splitlines())[:700])
if fails:
    print("Failed tests:")
    print("\n".join(fails))
PY3
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [ "$status" -ne 0 ] || [ "${failed:-0}" -ne 0 ]; then exit 1; fi
if [ "${passed:-0}" -eq 0 ]; then echo "tests/run.sh: no test ran" >&2; exit 1; fi
exit 0
