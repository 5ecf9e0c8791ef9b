# bench/disk/publish-bench.sh: sourced by bench/disk/run.sh and bench/iso/run.sh (not run). Publishes the one benchmark
# driver, bench/disk/DiskBench (ReadyToRun where the compiler package can be had, so the timing excludes the JIT), into
# $work/bin and sets $bench to it. The caller sets $root (the repository) and $work (a scratch directory).
case "$(uname -m)" in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) rid= ;; esac
if [ -z "$rid" ] || ! dotnet publish "$root/bench/disk/DiskBench" -c Release -r "$rid" --self-contained false \
     -p:PublishReadyToRun=true -o "$work/bin" -nologo -clp:ErrorsOnly >/dev/null; then
  echo "note: ReadyToRun publish failed; timing the JIT build" >&2
  dotnet publish "$root/bench/disk/DiskBench" -c Release -o "$work/bin" -nologo -clp:ErrorsOnly >/dev/null
fi
bench="$work/bin/DiskBench"
