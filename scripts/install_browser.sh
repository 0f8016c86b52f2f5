#!/usr/bin/env bash
# Installs what the console's browser tests need (tests/test_console_browser.py, marked `browser`):
# Debian's `chromium` package and the Python `playwright` client. Playwright's own browser download
# (`playwright install`) is never used: the tests launch /usr/bin/chromium through `executable_path`.
# Safe to run again: it only adds what is missing. Needs root (or sudo) for apt-get the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
CHROMIUM=${DIVERT_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "install_browser: $CHROMIUM is missing and this is not root: run 'apt-get install -y chromium' as root" >&2
      exit 1
    fi
  fi
  echo "==> installing Debian's chromium (apt-get)"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
if ! .venv/bin/python -c "import playwright.sync_api" 2>/dev/null; then
  echo "==> installing the Python playwright client (no browser download)"
  .venv/bin/pip install -q "playwright>=1.45"
fi
echo "==> browser ready: $("$CHROMIUM" --version 2>/dev/null | head -1)"
