#!/usr/bin/env bash
# Builds (once) and uses the Python environment for hyperseg's tests and worker.
#
#   scripts/python-env.sh path        print the environment's python executable (building it if needed)
#   scripts/python-env.sh run ARGS    run that python with ARGS
#
# The environment lives outside the checkout, keyed by the interpreter version and a hash of
# python-env/requirements.txt, so a fresh clone (and CI) reuses it instead of reinstalling.
# Override the location with HYPERSEG_PYENV_ROOT, the interpreter with HYPERSEG_PYTHON.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$here/python-env/requirements.txt"
base_python="${HYPERSEG_PYTHON:-python3}"
command -v "$base_python" >/dev/null || { echo "python-env: '$base_python' not found; install Python 3.11 or set HYPERSEG_PYTHON" >&2; exit 2; }
pyver="$("$base_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
key="$( (echo "$pyver"; cat "$req") | sha256sum | cut -c1-16)"
root="${HYPERSEG_PYENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/hyperseg}"
venv="$root/pyenv-$key"
if [ ! -f "$venv/.complete" ]; then
  echo "python-env: building $venv (python $pyver)" >&2
  rm -rf "$venv"
  mkdir -p "$root"
  "$base_python" -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  touch "$venv/.complete"
fi
case "${1:-path}" in
  path) echo "$venv/bin/python" ;;
  run) shift; exec "$venv/bin/python" "$@" ;;
  *) echo "usage: $0 path|run ARGS" >&2; exit 2 ;;
esac
