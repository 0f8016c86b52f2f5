#!/usr/bin/env bash
# Creates .venv and installs divert with its test extras. Safe to run again (it only adds what is missing).
# torch is pinned first: the CPU wheel 2.13.0; a looser requirement would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  echo "==> installing torch==2.13.0 (CPU)"
  .venv/bin/pip install -q torch==2.13.0
fi
if ! .venv/bin/python -c "import divert.cli.app" 2>/dev/null || [ pyproject.toml -nt .venv/.divert-installed ]; then
  echo "==> installing divert and its dependencies"
  .venv/bin/pip install -q -e ".[dev]"
  touch .venv/.divert-installed
fi
echo "==> environment ready: $(.venv/bin/python --version), torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')"
