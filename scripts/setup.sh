#!/usr/bin/env bash
# Installs what hyperseg needs, from the project's own files, skipping what is already there:
# the npm packages (from package-lock.json, again only when it changed), the Python environment
# outside the checkout (scripts/python-env.sh), and dist/ (tsc). Prints the Python interpreter.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
lockhash="$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f node_modules/.hyperseg-lock ] || [ "$(cat node_modules/.hyperseg-lock)" != "$lockhash" ]; then
  # onnxruntime-node ships its CPU library; without this its install script tries to download CUDA parts
  ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund >&2
  echo "$lockhash" > node_modules/.hyperseg-lock
fi
python="$(bash scripts/python-env.sh path)"
if [ "${1:-}" = "--build" ]; then
  npx tsc -p tsconfig.json >&2
fi
echo "$python"
