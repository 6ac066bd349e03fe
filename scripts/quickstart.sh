#!/usr/bin/env bash
# The main job from a fresh clone: installs what is missing (scripts/setup.sh), builds dist/, then
# runs `hyperseg quickstart` (synthetic data → train → segment → evaluate → report and pictures)
# with any flags given here, e.g. `bash scripts/quickstart.sh --backend tfjs`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --build >/dev/null
exec node dist/cli/main.js quickstart "$@"
