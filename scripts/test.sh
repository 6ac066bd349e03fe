#!/usr/bin/env bash
# The one command that runs every test, TypeScript and Python, from a fresh clone:
# installs the npm packages and the Python environment when missing (scripts/setup.sh),
# then runs vitest (which builds dist/ first) and pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="$(bash scripts/setup.sh)"
# vitest's global setup (test/global-setup.ts) type-checks and builds dist/, which the CLI tests and
# the Python cross-checks run.
npx vitest run
"$python" -m pytest -q python-env/tests
