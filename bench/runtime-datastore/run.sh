#!/usr/bin/env bash
# Runs the datastore benchmark (Release build). Not part of tests/run.sh. Needs: sqlite3 (baseline), strace (fsync counts; optional).
set -euo pipefail
cd "$(dirname "$0")"
dotnet run -c Release -- "$@"
