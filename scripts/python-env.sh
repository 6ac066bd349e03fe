#!/usr/bin/env bash
# Builds (once) and uses the Python environment for hyperseg's tests and PyTorch worker.
#
#   scripts/python-env.sh path        print the environment's python executable (building it if needed)
#   scripts/python-env.sh run ARGS    run that python with ARGS
#
# Where torch comes from (HYPERSEG_TORCH):
#   debian  Debian's python3-torch 1.13 (CPU only, about 70 s to install with apt-get, needs root);
#           the environment is a venv of /usr/bin/python3 that sees the system packages.
#   pypi    torch 2.x from PyPI into the venv (several GB with the CUDA libraries; 5-15 minutes).
#   auto    (default) debian when Debian's torch is installed or apt-get can install it as root,
#           else pypi.
# The environment lives outside the checkout (HYPERSEG_PYENV_ROOT, default ~/.cache/hyperseg),
# keyed by the torch source, the interpreter version and the requirements files, so a fresh
# clone and CI reuse it instead of reinstalling.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$here/python-env/requirements.txt"
req_torch="$here/python-env/requirements-torch.txt"
say() { echo "python-env: $*" >&2; }

mode="${HYPERSEG_TORCH:-auto}"
# Debian's python3-torch is present when its package files are (importing torch to check takes seconds)
debian_torch() { [ -x /usr/bin/python3 ] && [ -f /usr/lib/python3/dist-packages/torch/__init__.py ]; }
if [ "$mode" = auto ]; then
  if debian_torch || { command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; }; then mode=debian; else mode=pypi; fi
fi
case "$mode" in
  debian) base_python=/usr/bin/python3 ;;
  pypi) base_python="${HYPERSEG_PYTHON:-python3}" ;;
  *) say "HYPERSEG_TORCH must be auto, debian or pypi, got '$mode'"; exit 2 ;;
esac

if [ "$mode" = debian ] && ! debian_torch; then
  say "installing Debian's python3-torch (CPU) with apt-get: about 70 s"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -q --no-install-recommends python3-torch libopenblas0-openmp python3-venv python3-pip >&2
fi
command -v "$base_python" >/dev/null || { say "'$base_python' not found; install Python 3.11 or set HYPERSEG_PYTHON"; exit 2; }
pyver="$("$base_python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
key="$( (echo "$mode $pyver"; cat "$req"; [ "$mode" = pypi ] && cat "$req_torch" || true) | sha256sum | cut -c1-16)"
root="${HYPERSEG_PYENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/hyperseg}"
venv="$root/pyenv-$key"
if [ ! -f "$venv/.complete" ]; then
  say "building $venv (python $pyver, torch from $mode); later runs reuse it"
  rm -rf "$venv"
  mkdir -p "$root"
  if [ "$mode" = debian ]; then
    "$base_python" -m venv --system-site-packages "$venv"
  else
    "$base_python" -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  if [ "$mode" = pypi ]; then
    say "installing torch from PyPI: several GB, this can take 5-15 minutes"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req_torch" >&2
  fi
  "$venv/bin/python" -c 'import torch, zmq, pyarrow, safetensors; print("python-env: torch", torch.__version__, "zmq", zmq.__version__, "pyarrow", pyarrow.__version__)' >&2
  touch "$venv/.complete"
fi
case "${1:-path}" in
  path) echo "$venv/bin/python" ;;
  run) shift; exec "$venv/bin/python" "$@" ;;
  *) say "usage: $0 path|run ARGS"; exit 2 ;;
esac
