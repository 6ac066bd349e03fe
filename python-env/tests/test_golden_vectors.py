"""The golden geometry vectors in proto/vectors are reproducible and self-consistent.

The TypeScript tests (test/geometry) check the library against these vectors; the PyTorch worker's
tests will check its torch ops against the same file. Here we check the file itself: regenerating it
gives the same values, and the stored outputs satisfy identities that the generator did not use.
"""

import json
import math
import subprocess
import sys

import mpmath as mp

from conftest import ROOT

VECTORS = ROOT / "proto" / "vectors"


def load():
    return json.loads((VECTORS / "geometry.json").read_text())


def test_regenerating_gives_the_committed_file():
    out = subprocess.run([sys.executable, str(VECTORS / "generate_geometry.py")], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == load()


def test_distance_from_origin_matches_the_closed_form():
    mp.mp.dps = 40
    for case in load()["cases"]["dist"]:
        if all(v == 0 for v in case["x"]):
            c = mp.mpf(case["c"])
            n = mp.sqrt(mp.fsum(mp.mpf(v) ** 2 for v in case["y"]))
            expected = 2 / mp.sqrt(c) * mp.atanh(mp.sqrt(c) * n)
            assert math.isclose(case["out"], float(expected), rel_tol=1e-15, abs_tol=1e-300)


def test_expmap0_and_logmap0_cases_are_inverse_where_unprojected():
    g = load()["cases"]
    for case in g["logmap0"]:
        c = case["c"]
        y = case["y"]
        v = case["out"]
        # exp0(log0(y)) = y, in float64
        n = math.sqrt(sum(t * t for t in v))
        if n == 0:
            continue
        f = math.tanh(math.sqrt(c) * n) / (math.sqrt(c) * n)
        for a, b in zip((f * t for t in v), y):
            assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def test_frechet_means_satisfy_the_first_order_condition():
    mp.mp.dps = 40
    for case in load()["cases"]["frechet_mean"]:
        c = mp.mpf(case["c"])
        mu = [mp.mpf(t) for t in case["mean"]]
        grad = [mp.mpf(0)] * len(mu)
        for p, w in zip(case["points"], case["weights"]):
            x = [mp.mpf(t) for t in p]
            # −μ ⊕ x and log_μ(x) = (2/(√c λ_μ)) artanh(√c‖z‖) z/‖z‖
            xy = sum(-a * b for a, b in zip(mu, x))
            m2 = sum(a * a for a in mu)
            x2 = sum(a * a for a in x)
            den = 1 + 2 * c * xy + c * c * m2 * x2
            z = [((1 + 2 * c * xy + c * x2) * -a + (1 - c * m2) * b) / den for a, b in zip(mu, x)]
            zn = mp.sqrt(sum(t * t for t in z))
            if zn == 0:
                continue
            lam = 2 / (1 - c * m2)
            f = 2 / (mp.sqrt(c) * lam) * mp.atanh(mp.sqrt(c) * zn) / zn
            grad = [g + w * f * t for g, t in zip(grad, z)]
        # the stored mean is the exact one rounded to float64: the gradient is round-off sized
        assert float(mp.sqrt(sum(t * t for t in grad))) < 1e-12 * sum(case["weights"])
