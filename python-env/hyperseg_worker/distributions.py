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


def _arccosh_law_of_cosines(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """arccosh(cosh a cosh b + sinh a sinh b t), a, b >= 0, t in [-1, 1], without cancellation or
    overflow: with s = (a + b)/2, e = (a - b)/2 the argument is 1 + Y, Y = (1 + t) sinh^2 s +
    (1 - t) sinh^2 e >= 0, so arccosh = log1p(Y + sqrt(Y (Y + 2))) (exact near 0); for s > 15 it is
    log(2X) = logaddexp(logcosh(a + b) + log(1 + t), logcosh(a - b) + log(1 - t)) to 1e-13."""
    s, e = (a + b) / 2, (a - b) / 2
    near = s <= 15
    s_n, e_n = torch.where(near, s, torch.zeros_like(s)), torch.where(near, e, torch.zeros_like(e))
    y = (1 + t) * torch.sinh(s_n) ** 2 + (1 - t) * torch.sinh(e_n) ** 2
    small = torch.log1p(y + torch.sqrt(torch.clamp_min(y * (y + 2), 1e-30)))

    def logcosh(x):
        x = x.abs()
        return x + torch.log1p(torch.exp(-2 * x)) - math.log(2)

    ap, am = torch.where(near, torch.full_like(a, 40.0), a + b), torch.where(near, torch.zeros_like(a), a - b)
    large = torch.logaddexp(logcosh(ap) + torch.log(torch.clamp_min(1 + t, 1e-30)), logcosh(am) + torch.log(torch.clamp_min(1 - t, 1e-30)))
    return torch.where(near, small, large)


def wrapped_kl_sample(loc: torch.Tensor, scale: torch.Tensor, eps: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    """log q(z) - log p(z) for the sample z of q = WN(loc, scale^2) drawn with noise `eps` ([K, N, d]),
    p = WN(0, I): the one-sample KL estimate of the ELBO, computed from the tangent sample rather than
    from z. u = scale * eps are z's coordinates in the tangent space at loc (u = lambda_0 v, see
    rsample), so d(loc, z) = |u| exactly; d(0, z) follows from the hyperbolic law of cosines in the
    triangle 0, loc, z, whose angle at loc is the Euclidean angle between -loc and v (the ball is
    conformal and P_{0->loc} only rescales v). This stays exact where z itself cannot be represented
    (float32 clamps the ball at 1 - 4e-3, distance 6.2 from 0): evaluating both densities at the
    clamped z instead underestimates the KL there (it even goes negative), a flaw that training
    learns to exploit."""
    sc = c ** 0.5
    d = loc.shape[-1]
    u = scale * eps
    b = torch.sqrt(torch.clamp_min((u * u).sum(-1), 1e-30))  # d(loc, z)
    log_q = (-0.5 * eps ** 2 - torch.log(scale) - 0.5 * LOG_2PI).sum(-1) - (d - 1) * _log_sinh_over_x(sc * b)
    n_loc = torch.sqrt(torch.clamp_min((loc * loc).sum(-1), 1e-30))
    a = G.dist0(loc, c).expand_as(b)  # d(0, loc)
    t = torch.clamp((u * loc).sum(-1) / (b * n_loc), -1.0, 1.0)  # cos of the angle between v and loc
    r0 = _arccosh_law_of_cosines(sc * a, sc * b, t) / sc  # d(0, z)
    log_p = -0.5 * r0 ** 2 - 0.5 * d * LOG_2PI - (d - 1) * _log_sinh_over_x(sc * r0)
    return log_q - log_p


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
