"""Shared fixtures: the repository root and a runner for the built `hyperseg` CLI."""

import json
import sys
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "dist" / "cli" / "main.js"
# the worker package lives in python-env/
sys.path.insert(0, str(ROOT / "python-env"))


@pytest.fixture(scope="session")
def hyperseg():
    node = shutil.which("node")
    assert node, "node is not on PATH"
    assert CLI.exists(), f"{CLI} is missing: build the TypeScript first (scripts/test.sh does)"

    def run(*args, expect_ok=True):
        r = subprocess.run([node, str(CLI), *map(str, args)], capture_output=True, text=True, timeout=300)
        if expect_ok:
            assert r.returncode == 0, f"hyperseg {' '.join(map(str, args))} failed: {r.stderr}"
            return json.loads(r.stdout) if "--json" in args else r.stdout
        return r

    return run
