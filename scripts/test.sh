#!/usr/bin/env bash
# The one command that runs every test, TypeScript and Python, from a fresh clone:
# installs the npm packages (from package-lock.json) and the Python environment when missing,
# then runs vitest (which builds dist/ first) and pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
lockhash="$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f node_modules/.hyperseg-lock ] || [ "$(cat node_modules/.hyperseg-lock)" != "$lockhash" ]; then
  # onnxruntime-node ships its CPU library; without this its install script tries to download CUDA parts
  ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund
  echo "$lockhash" > node_modules/.hyperseg-lock
fi
python="$(bash scripts/python-env.sh path)"
# vitest's global setup (test/global-setup.ts) type-checks and builds dist/, which the CLI tests and
# the Python cross-checks run.
npx vitest run
"$python" -m pytest -q python-env/tests
