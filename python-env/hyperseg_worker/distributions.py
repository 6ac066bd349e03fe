"""The wrapped normal WN(mu, diag(sigma^2)) on the Poincare ball (Mathieu et al. 2019; Nagano et al. 2019).

Sampling (reparameterised): v ~ N(0, sigma^2) in the tangent space at the origin (coordinates in which
the Riemannian norm is |v|), moved to mu by parallel transport and mapped by exp_mu:
    z = exp_mu( P_{0->mu}(v / lambda_0) ),   lambda_0 = 2.
Density w.r.t. the Riemannian volume (Hsu et al. Eq. 4):
    log WN(z) = log N(u; 0, sigma^2) - (d - 1) log( sinh(sqrt(c) r) / (sqrt(c) r) ),
    u = lambda_0 P_{mu->0}(log_mu z) = lambda_mu log_mu z,   r = d_c(mu, z) = |u|.
Checked by a test: for d = 2 the density integrates to 1 over the disk.
"""

import math

import torch

from . import geometry as G

LOG_2PI = math.log(2 * math.pi)


def _log_sinh_over_x(t: torch.Tensor) -> torch.Tensor:
    """log(sinh(t)/t), stable at t -> 0 (series t^2/6) and for large t (t - log(2t))."""
    small = t < 1e-3
    big = t > 20
    safe = torch.where(small | big, torch.ones_like(t), t)
    mid = torch.log(torch.sinh(safe) / safe)
    return torch.where(small, t * t / 6, torch.where(big, t - math.log(2) - torch.log(torch.where(big, t, torch.ones_like(t))), mid))


class WrappedNormal:
    def __init__(self, loc: torch.Tensor, scale: torch.Tensor, c: float = 1.0):
        self.loc = loc
        self.scale = scale.expand_as(loc)
        self.c = c
        self.dim = loc.shape[-1]

    def rsample(self, k: int, generator: torch.Generator | None = None, eps: torch.Tensor | None = None) -> torch.Tensor:
        """k samples; `eps` ([k, *loc.shape] standard normal) fixes the noise (parity tests)."""
        if eps is None:
            eps = torch.randn((k, *self.loc.shape), dtype=self.loc.dtype, device=self.loc.device, generator=generator)
        v = self.scale * eps / 2
        u = G.transport0(self.loc, v, self.c)
        return G.expmap(self.loc.expand_as(u), u, self.c)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        loc = self.loc.expand_as(z)
        u = G.lambda_x(loc, self.c) * G.logmap(loc, z, self.c)
        normal = (-0.5 * (u / self.scale) ** 2 - torch.log(self.scale) - 0.5 * LOG_2PI).sum(-1)
        r = G.dist(loc, z, self.c)
        return normal - (self.dim - 1) * _log_sinh_over_x((self.c ** 0.5) * r)


class Normal:
    """Diagonal normal with the same interface (the Euclidean models)."""

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor):
        self.loc = loc
        self.scale = scale.expand_as(loc)

    def rsample(self, k: int, generator: torch.Generator | None = None, eps: torch.Tensor | None = None) -> torch.Tensor:
        if eps is None:
            eps = torch.randn((k, *self.loc.shape), dtype=self.loc.dtype, device=self.loc.device, generator=generator)
        return self.loc + self.scale * eps

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return (-0.5 * ((z - self.loc) / self.scale) ** 2 - torch.log(self.scale) - 0.5 * LOG_2PI).sum(-1)
