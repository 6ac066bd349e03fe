"""Poincare-ball operations in torch, with the definitions of src/geometry/poincare.ts.

Every function takes the curvature magnitude c explicitly (ball of curvature -c), works on the last
dimension, broadcasts over the others, and is differentiable with finite gradients at the origin
and near the boundary. Formulas (Ganea et al. 2018; Hsu et al. 2021):
  mobius_add(x, y) = ((1 - c|x|^2) s + c|s|^2 x) / ((1 - c|x|^2)(1 - c|y|^2) + c|s|^2), s = x + y
  expmap0(v)       = tanh(sqrt(c)|v|) v / (sqrt(c)|v|)
  logmap0(y)       = artanh(sqrt(c)|y|) y / (sqrt(c)|y|)
  expmap(x, v)     = x (+) tanh(sqrt(c) lambda_x |v| / 2) v / (sqrt(c)|v|)
  logmap(x, y)     = d(x, y) / lambda_x * z/|z|, z = -x (+) y
  dist(x, y)       = (2/sqrt(c)) asinh(sqrt(u)), u = c|x-y|^2 / ((1-c|x|^2)(1-c|y|^2))
  lambda_x         = 2 / (1 - c|x|^2)
  transport(x,y,v) = (lambda_x/lambda_y) gyr[y, -x] v
"""

import torch

from .stability import MIN_DENOM, MIN_NORM, SERIES_EPS, ball_eps, safe_artanh


def _sq(x: torch.Tensor) -> torch.Tensor:
    return (x * x).sum(-1, keepdim=True)


def one_minus_c_norm_sq(x2: torch.Tensor, c: float) -> torch.Tensor:
    """1 - c|x|^2 as (1 - sqrt(c)|x|)(1 + sqrt(c)|x|), floored at MIN_DENOM."""
    s = torch.sqrt((c * x2).clamp_min(MIN_NORM * MIN_NORM))  # floored: finite gradient at 0
    return ((1 - s) * (1 + s)).clamp_min(MIN_DENOM)


def _safe_norm(x: torch.Tensor) -> torch.Tensor:
    # sqrt with a floored argument: finite gradient at 0
    return torch.sqrt(_sq(x).clamp_min(MIN_NORM * MIN_NORM))


def _ratio(fn_over_x, s: torch.Tensor, series) -> torch.Tensor:
    small = s < SERIES_EPS
    safe = torch.where(small, torch.ones_like(s), s)
    return torch.where(small, series(s), fn_over_x(safe) / safe)


def tanh_over_x(s):
    return _ratio(torch.tanh, s, lambda t: 1 - t * t / 3)


def artanh_over_x(s):
    return _ratio(safe_artanh, s, lambda t: 1 + t * t / 3)


def asinh_over_x(s):
    return _ratio(torch.asinh, s, lambda t: 1 - t * t / 6)


def project(x: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    rmax = (1 - ball_eps(x.dtype)) / c ** 0.5
    n = _safe_norm(x)
    return torch.where(n > rmax, x * (rmax / n), x)


def lambda_x(x: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    return 2 / one_minus_c_norm_sq(_sq(x), c)


def mobius_add(x: torch.Tensor, y: torch.Tensor, c: float = 1.0, proj: bool = True) -> torch.Tensor:
    s = x + y
    ox = one_minus_c_norm_sq(_sq(x), c)
    s2 = _sq(s)
    den = (ox * one_minus_c_norm_sq(_sq(y), c) + c * s2).clamp_min(MIN_DENOM)
    out = (ox * s + c * s2 * x) / den
    return project(out, c) if proj else out


def mobius_scalar_mul(r, x: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    sc = c ** 0.5
    n = _safe_norm(x)
    t = r * safe_artanh(sc * n)
    return project(r * artanh_over_x(sc * n) * tanh_over_x(t.abs()) * x, c)


def expmap0(v: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    s = (c ** 0.5) * _safe_norm(v)
    return project(tanh_over_x(s) * v, c)


def logmap0(y: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    s = (c ** 0.5) * _safe_norm(y)
    return artanh_over_x(s) * y


def dist(x: torch.Tensor, y: torch.Tensor, c: float = 1.0, keepdim: bool = False) -> torch.Tensor:
    u = c * _sq(x - y) / (one_minus_c_norm_sq(_sq(x), c) * one_minus_c_norm_sq(_sq(y), c))
    # sqrt(u) with a floored argument keeps the gradient finite for x == y
    d = (2 / c ** 0.5) * torch.asinh(torch.sqrt(u.clamp_min(MIN_NORM * MIN_NORM)))
    d = torch.where(u > 0, d, torch.zeros_like(d))
    return d if keepdim else d.squeeze(-1)


def dist0(x: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    return (2 / c ** 0.5) * safe_artanh((c ** 0.5) * _safe_norm(x)).squeeze(-1)


def expmap(x: torch.Tensor, v: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    lam = lambda_x(x, c)
    s = (c ** 0.5) * _safe_norm(v)
    second = (lam / 2) * tanh_over_x(lam * s / 2) * v
    return mobius_add(x, second, c)


def logmap(x: torch.Tensor, y: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    z = mobius_add(-x, y, c, proj=False)
    zn = _safe_norm(z)
    return dist(x, y, c, keepdim=True) / (lambda_x(x, c) * zn) * z


def gyration(u: torch.Tensor, v: torch.Tensor, w: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    u2, v2 = _sq(u), _sq(v)
    uv = (u * v).sum(-1, keepdim=True)
    uw = (u * w).sum(-1, keepdim=True)
    vw = (v * w).sum(-1, keepdim=True)
    c2 = c * c
    a = -c2 * uw * v2 + c * vw + 2 * c2 * uv * vw
    b = -c2 * vw * u2 - c * uw
    d = (1 + 2 * c * uv + c2 * u2 * v2).clamp_min(MIN_DENOM)
    return w + 2 * (a * u + b * v) / d


def transport(x: torch.Tensor, y: torch.Tensor, v: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    ratio = one_minus_c_norm_sq(_sq(y), c) / one_minus_c_norm_sq(_sq(x), c)
    return ratio * gyration(y, -x, v, c)


def transport0(y: torch.Tensor, v: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    """Transport from the origin: (1 - c|y|^2) v."""
    return one_minus_c_norm_sq(_sq(y), c) * v


def gyroplane(x: torch.Tensor, a: torch.Tensor, p: torch.Tensor, c: float = 1.0, signed: bool = True) -> torch.Tensor:
    """Signed value sgn<z,a> lambda_p |a| d(x, H_{a,p}) (Eq. 5), or the distance d(x, H) (Eq. 6); z = -p (+) x."""
    x2, p2 = _sq(x), _sq(p)
    op, ox = one_minus_c_norm_sq(p2, c), one_minus_c_norm_sq(x2, c)
    one_minus_z2 = op * ox / (op * ox + c * _sq(x - p))
    z = mobius_add(-p, x, c, proj=False)
    za = (z * a).sum(-1, keepdim=True)
    an = _safe_norm(a)
    sc = c ** 0.5
    arg = 2 * sc * za / (one_minus_z2.clamp_min(MIN_DENOM) * an)
    if not signed:
        return (torch.asinh(arg.abs()) / sc).squeeze(-1)
    return (2 / op * an * torch.asinh(arg) / sc).squeeze(-1)
