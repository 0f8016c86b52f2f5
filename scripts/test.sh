#!/usr/bin/env bash
# Sets up and runs the whole test suite: fast tests and the slow ones (tiny trained models, PostgreSQL, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
bash scripts/install_browser.sh
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest -m "slow or not slow" -p no:cacheprovider "$@"
