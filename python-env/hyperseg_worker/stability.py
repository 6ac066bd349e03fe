"""Named numerical-stability constants, the same as src/geometry/stability.ts.

Ball of curvature -c (c > 0, radius 1/sqrt(c)). Point-valued results are projected to
||x|| <= (1 - BALL_EPS[dtype]) / sqrt(c).
"""

import torch

BALL_EPS = {torch.float32: 4e-3, torch.float64: 1e-5, torch.float16: 4e-3, torch.bfloat16: 4e-3}
MIN_NORM = 1e-15
MIN_DENOM = 1e-15
ARTANH_EPS = 1e-15
#: below this sqrt(u), asinh(s)/s is replaced by its series 1 - s^2/6
SERIES_EPS = 1e-8


def ball_eps(dtype: torch.dtype) -> float:
    return BALL_EPS.get(dtype, 4e-3)


def clamp_min(x: torch.Tensor, v: float) -> torch.Tensor:
    return x.clamp_min(v)


def safe_artanh(x: torch.Tensor) -> torch.Tensor:
    lim = 1 - (ARTANH_EPS if x.dtype == torch.float64 else 1e-7)
    return torch.atanh(x.clamp(-lim, lim))
