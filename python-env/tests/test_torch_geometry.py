"""The torch Poincare-ball ops match the golden vectors (proto/vectors/geometry.json) and have
finite, correct gradients (torch.autograd.gradcheck in float64), at zero and near the boundary."""

import json

import pytest
import torch

from conftest import ROOT
from hyperseg_worker import geometry as G

GOLDEN = json.loads((ROOT / "proto" / "vectors" / "geometry.json").read_text())["cases"]
T = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731


def close(a, b, rtol=1e-9, atol=1e-12):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    assert torch.all((a - b).abs() <= atol + rtol * b.abs()), f"{a} vs {b}"


def test_golden_points_and_maps():
    for t in GOLDEN["mobius_add"]:
        close(G.mobius_add(T(t["x"]), T(t["y"]), t["c"]), t["out"])
    for t in GOLDEN["mobius_scalar_mul"]:
        close(G.mobius_scalar_mul(t["r"], T(t["x"]), t["c"]), t["out"])
    for t in GOLDEN["expmap0"]:
        close(G.expmap0(T(t["v"]), t["c"]), t["out"])
    for t in GOLDEN["logmap0"]:
        close(G.logmap0(T(t["y"]), t["c"]), t["out"])
    for t in GOLDEN["expmap"]:
        close(G.expmap(T(t["x"]), T(t["v"]), t["c"]), t["out"])
    for t in GOLDEN["logmap"]:
        close(G.logmap(T(t["x"]), T(t["y"]), t["c"]), t["out"])


def test_golden_scalars():
    for t in GOLDEN["dist"]:
        close(G.dist(T(t["x"]), T(t["y"]), t["c"]), t["out"])
    for t in GOLDEN["lambda"]:
        close(G.lambda_x(T(t["x"]), t["c"]).squeeze(-1), t["out"])
    for t in GOLDEN["transport"]:
        close(G.transport(T(t["x"]), T(t["y"]), T(t["v"]), t["c"]), t["out"])
    for t in GOLDEN["gyroplane"]:
        close(G.gyroplane(T(t["x"]), T(t["a"]), T(t["p"]), t["c"], signed=True), t["signed"])
        close(G.gyroplane(T(t["x"]), T(t["a"]), T(t["p"]), t["c"], signed=False), t["dist"])


def test_batched_broadcasting_matches_rowwise():
    g = torch.Generator().manual_seed(0)
    x = G.project(torch.randn(7, 3, generator=g, dtype=torch.float64) * 0.4)
    y = G.project(torch.randn(7, 3, generator=g, dtype=torch.float64) * 0.4)
    d = G.dist(x, y, 1.3)
    for i in range(7):
        close(d[i], G.dist(x[i], y[i], 1.3), rtol=1e-14)


@pytest.mark.parametrize("c", [0.5, 1.0, 2.0])
def test_gradcheck_float64(c):
    g = torch.Generator().manual_seed(1)
    # points well inside the ball: near the boundary gradients reach ~1e5 and finite differences lose accuracy
    x = (torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.25 / c ** 0.5).requires_grad_()
    y = (torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.25 / c ** 0.5).requires_grad_()
    v = (torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.5).requires_grad_()
    a = torch.randn(4, 3, generator=g, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, y: G.mobius_add(x, y, c, proj=False), (x, y))
    assert torch.autograd.gradcheck(lambda x, y: G.dist(x, y, c), (x, y))
    assert torch.autograd.gradcheck(lambda v: G.expmap0(v, c), (v,))
    assert torch.autograd.gradcheck(lambda x: G.logmap0(x, c), (x,))
    assert torch.autograd.gradcheck(lambda x, v: G.expmap(x, v, c), (x, v))
    assert torch.autograd.gradcheck(lambda x, y: G.logmap(x, y, c), (x, y))
    assert torch.autograd.gradcheck(lambda x, a, y: G.gyroplane(x, a, y, c), (x, a, y))


def test_finite_gradients_at_zero_and_near_the_boundary():
    for r in [0.0, 1e-15, 1e-8, 0.5, 1 - 1e-6, 1 - 1e-12]:
        x = torch.tensor([[r, 0.0, 0.0]], dtype=torch.float64, requires_grad=True)
        y = torch.tensor([[0.0, r * 0.7, 0.1 * r]], dtype=torch.float64, requires_grad=True)
        out = G.dist(x, y).sum() + G.expmap0(x * 10).sum() + G.logmap0(x).sum() + G.logmap(x, y).sum() + G.dist(x, x.detach()).sum()
        out = out + G.gyroplane(y, torch.ones(1, 3, dtype=torch.float64), x).sum()
        out.backward()
        assert torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all(), r
