#!/usr/bin/env bash
# Installs the pinned uv into .tools/ using only the machine's Python.
# On Debian, `python3 -m venv` needs the python3-venv package: installed here when missing and root.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PYTHON:=python3}" "${UV_VERSION:?}"

if ! "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  echo "AHA Desk needs Python 3.11; $PYTHON is $("$PYTHON" --version 2>&1)." >&2
  exit 1
fi
if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing python3-venv with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "Python's venv module is missing: install python3-venv (Debian) and run again." >&2
    exit 1
  fi
fi
rm -rf .tools
"$PYTHON" -m venv .tools
.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
