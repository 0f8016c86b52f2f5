#!/usr/bin/env bash
# Sets up, trains the default model on the bundled corpus if no champion is registered, and serves the API
# on 127.0.0.1:8000 with a freshly generated local API key (printed, with a curl example).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/divert up "$@"
