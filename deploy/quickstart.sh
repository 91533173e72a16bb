#!/usr/bin/env bash
# Set up and run the switch on the embedded default: a SQLite file in ./var and a demo account.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/bootstrap.sh runtime
.venv/bin/switchctl demo
exec .venv/bin/softswitch "$@"
