"""The 3-D VAE of Hsu et al. 2021 (DESIGN section 2), its presets, loss and dense encoder.

Encoder: Conv3d layers (widths enc_channels, kernel, padding, strides), ReLU, then a linear head to a
tangent vector h (latent_dim) and a scale; hyperbolic models take mu = exp_0(h), Euclidean ones mu = h.
Decoder: the mirror image. Hyperbolic + gyroconv: its first layer is a gyroplane convolution
(GyroConv3d, kernel 1) on the 1x1x1 latent grid giving enc_channels[-1] * s^3 features, reshaped to the
encoder's last feature map; hyperbolic without gyroconv: log_0(z) then a linear layer; Euclidean: a linear
layer. Then transposed convolutions back to one channel m^3 (stride-1 ones run as the equivalent Conv3d
with a flipped kernel where that measured faster on CPU; parameters keep ConvTranspose3d's layout).

Loss: L = L_ELBO + beta * L_triplet. L_ELBO: Gaussian likelihood (unit variance) on voxels, K
reparameterised samples of the posterior WN(mu, sigma^2) (or N), prior WN(0, I) (or N(0, I)):
mean over patches of  sum_voxels (x - x_hat)^2 / 2  +  log q(z|x) - log p(z)  (the Riemannian ELBO of
Eq. 9, Monte Carlo over K), or with iwae the importance-weighted bound
-log (1/K sum_k w_k), w_k = p(x|z_k) p(z_k) / q(z_k|x) (Burda et al. 2016; the ELBO for K = 1). L_triplet = mean max(0, d(mu_a, mu_p) - d(mu_a, mu_n) + alpha) with the
Poincare distance (Euclidean for Euclidean models), or squared distances when squared_triplet (as the
published code does).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn
from torch.nn import functional as F

from . import geometry as G
from .distributions import Normal, WrappedNormal, wrapped_kl_sample
from .gyroconv import GyroConv3d

PRESETS: dict[str, dict] = {
    # The paper's sizes: widths 16-32-64-128, kernel 5, zero padding inside the patch. Strides 1,2,1,2
    # keep the CPU cost near 70 M multiply-adds per patch. Dense inference is an approximation for it.
    # Adam's rate ramps over the first 100 steps: without it 5 of 8 paper-preset runs on a GPU lost
    # their encoder to dead ReLUs after a reconstruction spike at step 2 or 3 (README, the paper preset on a GPU).
    "paper": dict(enc_channels=[16, 32, 64, 128], kernel=5, padding=2, strides=[1, 2, 1, 2], lr_warmup=100),
    # Unpadded (valid) convolutions, stride 1: the dense path equals per-patch inference exactly.
    "valid": dict(enc_channels=[16, 32, 64, 128], kernel=3, padding=0, strides=[1, 1, 1, 1]),
    # Valid and narrow: trains in minutes on 2 CPU cores.
    "small": dict(enc_channels=[8, 16, 16, 32], kernel=3, padding=0, strides=[1, 1, 1, 1]),
}


# Largest sizes a model configuration may ask for (the same in src/backends/config.ts): far above any
# model trained here, low enough that a typo cannot ask for petabytes.
MAX_SIZES = {"m": 128, "latent_dim": 1024, "kernel": 15, "padding": 16, "samples": 256, "enc_channels": 4096, "strides": 8}


@dataclass
class ModelConfig:
    preset: str = "small"
    m: int = 10
    latent_dim: int = 2
    curvature: float = 1.0
    hyperbolic: bool = True
    gyroconv: bool = True
    triplet: bool = True
    enc_channels: list = field(default_factory=lambda: [8, 16, 16, 32])
    kernel: int = 3
    padding: int = 0
    strides: list = field(default_factory=lambda: [1, 1, 1, 1])
    samples: int = 1
    beta: float = 1e3
    alpha: float = 0.2
    squared_triplet: bool = False
    lr: float = 1e-3
    grad_clip: float | None = None
    min_scale: float = 1e-3
    # a plain autoencoder (a baseline): the decoder reads mu, no noise, no KL term
    autoencoder: bool = False
    # the importance-weighted bound over the K samples instead of the ELBO (Burda et al. 2016)
    iwae: bool = False
    # against posterior collapse (both off by default, outside the paper's method): the KL term's weight
    # rises linearly from 0 over the first kl_warmup steps (Bowman et al. 2016), and the loss takes
    # max(free_bits, batch-mean KL) in nats, so no gradient pushes the posterior below free_bits nats
    # to the prior (Kingma et al. 2016, one group: the wrapped normal's KL has no per-dimension split)
    kl_warmup: int = 0
    free_bits: float = 0.0
    # Adam's learning rate rises linearly to lr over the first lr_warmup steps: lr * min(1, (t + 1) / lr_warmup)
    # at the step after t steps (0: off). Without it Adam's first, full-size steps can blow the
    # reconstruction up (x100 at step 2 or 3) and leave the encoder's ReLUs dead: a constant code.
    lr_warmup: int = 0
    # the slope of the activations below zero: 0 is the paper's ReLU; > 0 a leaky ReLU, whose units
    # cannot die (a unit negative on every input has no gradient under ReLU and stays dead)
    leaky_slope: float = 0.0

    @staticmethod
    def from_dict(d: dict) -> "ModelConfig":
        d = dict(d or {})
        preset = d.get("preset", "small")
        if preset not in PRESETS:
            raise ValueError(f"unknown preset '{preset}'; expected one of {', '.join(PRESETS)}")
        base = {**PRESETS[preset], "preset": preset}
        known = {f.name for f in fields(ModelConfig)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(sorted(unknown))}")
        cfg = ModelConfig(**{**base, **d})
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if len(self.enc_channels) != len(self.strides):
            raise ValueError(f"enc_channels ({len(self.enc_channels)}) and strides ({len(self.strides)}) must have the same length")
        if self.latent_dim < 1 or self.m < 2 or self.samples < 1 or self.curvature <= 0:
            raise ValueError("latent_dim >= 1, m >= 2, samples >= 1 and curvature > 0 are required")
        # upper bounds (the TypeScript twin's MAX_SIZES): m = 100000 asked the allocator for 2.5e17 bytes
        for key, most in MAX_SIZES.items():
            v = getattr(self, key)
            if any(x > most for x in (v if isinstance(v, list) else [v])):
                raise ValueError(f"{key} must be at most {most}{' each' if isinstance(v, list) else ''}, got {v}")
        if len(self.enc_channels) > 16:
            raise ValueError(f"enc_channels: at most 16 layers, got {len(self.enc_channels)}")
        if self.gyroconv and not self.hyperbolic:
            raise ValueError("gyroconv needs a hyperbolic latent space")
        if self.iwae and self.autoencoder:
            raise ValueError("the IWAE bound needs a sampled posterior; an autoencoder has none")
        if self.kl_warmup < 0 or self.lr_warmup < 0 or self.free_bits < 0 or not math.isfinite(self.free_bits):
            raise ValueError("kl_warmup, lr_warmup (steps) and free_bits (nats) must be >= 0")
        if not 0 <= self.leaky_slope < 1:
            raise ValueError(f"leaky_slope must be in [0, 1), got {self.leaky_slope}")
        if self.autoencoder and (self.kl_warmup or self.free_bits):
            raise ValueError("kl_warmup and free_bits act on the KL term; an autoencoder has none")
        if self.iwae and self.free_bits:
            raise ValueError("free_bits applies to the ELBO's KL term; the IWAE bound has no separate one")
        sizes = self.feature_sizes()
        if sizes[-1] < 1:
            raise ValueError(f"the encoder shrinks an input of {self.m} to nothing: sizes {sizes}")

    def feature_sizes(self) -> list[int]:
        sizes = [self.m]
        for s in self.strides:
            sizes.append((sizes[-1] + 2 * self.padding - self.kernel) // s + 1)
        return sizes

    def to_dict(self) -> dict:
        return asdict(self)

    def lr_at(self, step: int) -> float:
        """Adam's learning rate for the step after `step` steps: lr * min(1, (step + 1) / lr_warmup)."""
        return self.lr * min(1.0, (step + 1) / self.lr_warmup) if self.lr_warmup > 0 else self.lr

    def kl_weight(self, step: int) -> float:
        """The KL term's weight in the loss for the step after `step` steps: min(1, step / kl_warmup)."""
        return min(1.0, step / self.kl_warmup) if self.kl_warmup > 0 else 1.0


def conv_is_faster(cin: int, k: int) -> bool:
    """Whether the Conv3d form of a stride-1 transposed convolution trains faster on CPU. Measured
    here (torch 1.13, 2 threads, forward + backward, batch 96): 32->16 channels, kernel 3: Conv3d 2.0x
    faster; 128->64, kernel 3: 0.84x; 64->32, kernel 5: 0.30x; 16->1, kernel 5: 0.13x. A fixed rule,
    not a timing at run time, so that runs stay reproducible."""
    return k == 3 and cin <= 32


class Deconv3d(nn.Module):
    """ConvTranspose3d that runs as the equivalent Conv3d (flipped, transposed kernel) where that is
    faster (stride 1, see conv_is_faster); the parameters keep ConvTranspose3d's layout."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, padding: int, output_padding: int):
        super().__init__()
        self.inner = nn.ConvTranspose3d(cin, cout, k, stride=stride, padding=padding, output_padding=output_padding)
        self.k, self.stride, self.padding = k, stride, padding
        self.as_conv = stride == 1 and padding <= k - 1 and conv_is_faster(cin, k)

    def forward(self, x):
        if self.as_conv:
            w = self.inner.weight.flip(2, 3, 4).transpose(0, 1)
            return F.conv3d(x, w, self.inner.bias, padding=self.k - 1 - self.padding)
        return self.inner(x)


class HyperbolicVAE(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        ch = [1, *cfg.enc_channels]
        self.encoder = nn.ModuleList(
            nn.Conv3d(ch[i], ch[i + 1], cfg.kernel, stride=cfg.strides[i], padding=cfg.padding) for i in range(len(cfg.strides))
        )
        sizes = cfg.feature_sizes()
        self.s = sizes[-1]
        flat = cfg.enc_channels[-1] * self.s ** 3
        self.head_mu = nn.Linear(flat, cfg.latent_dim)
        self.head_scale = nn.Linear(flat, cfg.latent_dim)
        if cfg.gyroconv:
            self.dec_in = GyroConv3d(1, flat, cfg.latent_dim, kernel_size=1, c=cfg.curvature)
        else:
            self.dec_in = nn.Linear(cfg.latent_dim, flat)
        dec = []
        for i in reversed(range(len(cfg.strides))):
            target = sizes[i]
            got = (sizes[i + 1] - 1) * cfg.strides[i] - 2 * cfg.padding + cfg.kernel
            dec.append(Deconv3d(ch[i + 1], ch[i], cfg.kernel, cfg.strides[i], cfg.padding, target - got))
        self.decoder = nn.ModuleList(dec)  # widths mirror the encoder down to 1 channel

    def act(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden layers' activation: ReLU, or a leaky ReLU with leaky_slope > 0."""
        return F.leaky_relu(x, self.cfg.leaky_slope) if self.cfg.leaky_slope else F.relu(x)

    # ----- encoder -----
    def features(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.encoder:
            x = self.act(conv(x))
        return x

    def encode(self, x: torch.Tensor):
        """mu (on the ball, or Euclidean) and the posterior scale, [B, d] each."""
        h = self.features(x).flatten(1)
        t = self.head_mu(h)
        scale = F.softplus(self.head_scale(h)) + self.cfg.min_scale
        mu = G.expmap0(t, self.cfg.curvature) if self.cfg.hyperbolic else t
        return mu, scale

    def posterior(self, mu, scale):
        return WrappedNormal(mu, scale, self.cfg.curvature) if self.cfg.hyperbolic else Normal(mu, scale)

    def prior(self, like: torch.Tensor):
        zero, one = torch.zeros_like(like), torch.ones_like(like)
        return WrappedNormal(zero, one, self.cfg.curvature) if self.cfg.hyperbolic else Normal(zero, one)

    # ----- decoder -----
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: [N, d] -> reconstructions [N, 1, m, m, m]."""
        n = z.shape[0]
        if self.cfg.gyroconv:
            h = self.dec_in(z.reshape(n, 1, -1, 1, 1, 1))
        elif self.cfg.hyperbolic:
            h = self.dec_in(G.logmap0(z, self.cfg.curvature))
        else:
            h = self.dec_in(z)
        h = self.act(h.reshape(n, self.cfg.enc_channels[-1], self.s, self.s, self.s))
        last = len(self.decoder) - 1
        for i, layer in enumerate(self.decoder):
            h = layer(h)
            if i < last:
                h = self.act(h)
        return h

    # ----- loss -----
    def distance(self, a, b):
        return G.dist(a, b, self.cfg.curvature) if self.cfg.hyperbolic else (a - b).norm(dim=-1)

    def loss(self, anchor, positive, negative, generator: torch.Generator | None = None, eps: torch.Tensor | None = None, step: int = 0) -> dict:
        """The loss terms for a triplet batch. `elbo` is always the bound itself; `loss`, the objective
        minimised, weights its KL term by cfg.kl_weight(step) and floors it at free_bits (both 1 and 0 by
        default, where loss = elbo + beta * triplet)."""
        cfg = self.cfg
        x = torch.cat([anchor, positive, negative], 0)
        b = anchor.shape[0]
        mu, scale = self.encode(x)
        if cfg.autoencoder:
            z = mu.unsqueeze(0)  # [1, 3B, d]: the code itself, no sampling
        else:
            q = self.posterior(mu, scale)
            if eps is None:
                eps = torch.randn((cfg.samples, *mu.shape), dtype=mu.dtype, device=mu.device, generator=generator)
            z = q.rsample(cfg.samples, None, eps)  # [K, 3B, d]
        xhat = self.decode(z.reshape(-1, z.shape[-1])).reshape(z.shape[0], *x.shape)
        recon = 0.5 * ((xhat - x.unsqueeze(0)) ** 2).flatten(2).sum(-1)  # [K, 3B]
        if cfg.autoencoder:
            kl = torch.zeros_like(recon)
        elif cfg.hyperbolic:
            kl = wrapped_kl_sample(mu, scale, eps, cfg.curvature)  # [K, 3B], exact where z is clamped
        else:
            kl = q.log_prob(z) - self.prior(mu).log_prob(z)
        nlw = recon + kl  # -log w_k per sample [K, 3B]; IWAE averages the weights inside the log, the ELBO outside
        elbo = -(torch.logsumexp(-nlw, 0) - math.log(nlw.shape[0])).mean() if cfg.iwae else nlw.mean()
        w = cfg.kl_weight(step)
        if w == 1.0 and cfg.free_bits == 0:
            objective = elbo
        elif cfg.iwae:  # warm-up only (free bits are refused with IWAE)
            objective = -(torch.logsumexp(-(recon + w * kl), 0) - math.log(nlw.shape[0])).mean()
        else:
            kl_term = torch.clamp(kl.mean(), min=cfg.free_bits) if cfg.free_bits else kl.mean()
            objective = recon.mean() + w * kl_term
        out = {"recon": recon.mean(), "kl": kl.mean(), "elbo": elbo, "mu": mu, "scale": scale, "xhat": xhat, "z": z}
        if cfg.triplet:
            ma, mp, mn = mu[:b], mu[b : 2 * b], mu[2 * b :]
            dp, dn = self.distance(ma, mp), self.distance(ma, mn)
            if cfg.squared_triplet:
                dp, dn = dp ** 2, dn ** 2
            trip = F.relu(dp - dn + cfg.alpha).mean()
            out["triplet"] = trip
            out["loss"] = objective + cfg.beta * trip
        else:
            out["triplet"] = torch.zeros((), dtype=elbo.dtype)
            out["loss"] = objective
        return out

    # ----- dense encoding -----
    def encode_dense(self, volume: torch.Tensor, stride: int, origin: int, out_shape: tuple[int, int, int]):
        """Per-voxel mu from a volume resampled once (scale m/p): the encoder's convolutions slide over
        the whole volume and the linear head becomes a convolution with the final feature size as kernel,
        evaluated every `stride` samples from `origin` (the first voxel's window). volume: [D, H, W]
        (resampled, covering every window); returns mu [Do, Ho, Wo, d].
        Strided layers become stride-1 layers and dilate every later kernel by the strides so far
        (every voxel gets an output, on the lattice its patch would use), with 'same' padding scaled
        by the dilation. Exact for stride-1 unpadded encoders (presets small and valid); for padded
        encoders (the paper's) a patch sees zeros at its border where the volume holds its
        neighbours, so the dense path approximates per-patch inference there.
        """
        cfg = self.cfg
        h = volume[None, None]
        dil = 1
        for conv, s in zip(self.encoder, cfg.strides):
            h = self.act(F.conv3d(h, conv.weight, conv.bias, stride=1, padding=cfg.padding * dil, dilation=dil))
            dil *= s
        w = self.head_mu.weight.reshape(cfg.latent_dim, cfg.enc_channels[-1], self.s, self.s, self.s)
        h = h[:, :, origin:, origin:, origin:]
        t = F.conv3d(h, w, self.head_mu.bias, stride=stride, dilation=dil)
        t = t[0, :, : out_shape[0], : out_shape[1], : out_shape[2]].permute(1, 2, 3, 0)
        return G.expmap0(t, cfg.curvature) if cfg.hyperbolic else t


def build_model(config: dict, seed: int) -> tuple[HyperbolicVAE, torch.optim.Optimizer, ModelConfig]:
    cfg = ModelConfig.from_dict(config)
    torch.manual_seed(seed)  # parameter initialisation only; sampling noise uses explicit generators
    model = HyperbolicVAE(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    return model, opt, cfg


class NonFiniteLoss(ValueError):
    """A train step whose loss terms or gradients are not all finite (on any member of a
    data-parallel group); the step was not applied."""

    def __init__(self, values: dict, bad_grad: str | None = None, elsewhere: bool = False):
        self.values = values
        shown = ", ".join(f"{k} {v:.6g}" for k, v in values.items())
        if elsewhere:
            what = f"another member of the data-parallel group has a non-finite loss or gradient (here: {shown})"
        elif not all(math.isfinite(v) for v in values.values()):
            what = f"the loss is not finite ({shown})"
        else:
            what = f"the gradient of {bad_grad} is not finite (loss terms: {shown})"
        super().__init__(f"{what}; the weights were not updated")


def train_step(model: HyperbolicVAE, opt, anchor, positive, negative, generator=None, shard: tuple[int, int] | None = None, step: int = 0) -> dict:
    """One Adam step on a triplet batch. With `shard` = (lo, total) the batch is triplets
    [lo, lo + b) of a batch of `total`, inside a torch.distributed group whose members hold the same
    weights, optimiser and generator state; the step equals the one on the whole batch up to float
    summation order: every member draws the whole batch's noise [K, 3 * total, d] (so the generators
    stay in step, and a checkpoint of any member resumes all of them) and takes its own rows;
    gradients are weighted by the shard's share of the batch and summed across members, which gives
    the gradient of the batch means; then the same Adam step everywhere."""
    cfg = model.cfg
    model.train()
    opt.zero_grad(set_to_none=True)
    eps = None
    if shard is not None and not cfg.autoencoder:
        lo, total = shard
        b = anchor.shape[0]
        full = torch.randn((cfg.samples, 3 * total, cfg.latent_dim), dtype=anchor.dtype, device=anchor.device, generator=generator)
        rows = torch.cat([torch.arange(lo, lo + b) + r * total for r in range(3)]).to(anchor.device)
        eps = full[:, rows]
    out = model.loss(anchor, positive, negative, generator, eps, step=step)
    out["loss"].backward()
    values = {k: float(out[k].detach()) for k in ("loss", "elbo", "recon", "kl", "triplet")}
    if shard is not None:
        import torch.distributed as dist

        share = anchor.shape[0] / shard[1]
        for prm in model.parameters():
            if prm.grad is None:  # unused by this configuration: None on every member alike
                continue
            prm.grad.mul_(share)
            dist.all_reduce(prm.grad)
    # a non-finite loss term or gradient (after the all-reduce: the same gradients on every member)
    local = not all(math.isfinite(v) for v in values.values())
    bad_grad = next((name for name, prm in model.named_parameters() if prm.grad is not None and not bool(torch.isfinite(prm.grad).all())), None)
    bad = local or bad_grad is not None
    elsewhere = False
    if shard is not None:
        flag = torch.tensor([1.0 if bad else 0.0], device=anchor.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)  # every member skips the step together
        elsewhere = bool(flag.item() > 0) and not bad
        bad = bad or elsewhere
    if bad:
        # the weights and Adam state stay as they were: the step is refused, not applied
        opt.zero_grad(set_to_none=True)
        raise NonFiniteLoss(values, bad_grad, elsewhere)
    optimiser_step(model, opt, step)
    return values


def optimiser_step(model: HyperbolicVAE, opt, step: int) -> None:
    """Adam's update once the gradients are in place: clipped to grad_clip (if set), at the rate of the
    step after `step` steps (lr_warmup). Shared by train_step and the worker's parity op."""
    cfg = model.cfg
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    for group in opt.param_groups:
        group["lr"] = cfg.lr_at(step)
    opt.step()
