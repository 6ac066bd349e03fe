"""The gyroplane convolution (Hsu et al. 2021, Eq. 5-7) as a general 3-D layer.

Input: a grid of points on the Poincare ball, [B, C_in, d, D, H, W] (C_in ball points per voxel: a
product manifold when C_in > 1). Output: Euclidean features [B, C_out, D', H', W'] with

    y[b, o, v] = bias[o] + sum_{c, delta} f_{a[o,c,delta], p[o,c,delta]}( x[b, c, :, v*stride + delta*dilation - padding] )
    f_{a,p}(x) = sgn(<log_p x, a>) * lambda_p |a| * d(x, H_{a,p})          (Eq. 5-6)

Each (output channel, input point, kernel offset) has its own gyroplane: a point p = exp_0(p_raw) on
the ball and a normal a = P_{0->p}(a_raw) in T_p. Padding places the origin (a valid ball point).
Vectorised with unfold and broadcasting: no Python loop over voxels or offsets.
"""

import torch
from torch import nn

from . import geometry as G


def _triple(v):
    return (v, v, v) if isinstance(v, int) else tuple(v)


class GyroConv3d(nn.Module):
    def __init__(self, in_points: int, out_channels: int, dim: int, kernel_size=1, stride=1, padding=0, dilation=1, c: float = 1.0):
        super().__init__()
        self.in_points, self.out_channels, self.dim, self.c = in_points, out_channels, dim, c
        self.kernel_size, self.stride, self.padding, self.dilation = map(_triple, (kernel_size, stride, padding, dilation))
        taps = self.kernel_size[0] * self.kernel_size[1] * self.kernel_size[2]
        self.p_raw = nn.Parameter(torch.randn(out_channels, in_points, taps, dim) * 1e-2)
        self.a_raw = nn.Parameter(torch.randn(out_channels, in_points, taps, dim) / dim ** 0.5)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def planes(self):
        p = G.expmap0(self.p_raw, self.c)
        a = G.transport0(p, self.a_raw, self.c)
        return a, p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, cin, d = x.shape[:3]
        if cin != self.in_points or d != self.dim:
            raise ValueError(f"GyroConv3d expects [B, {self.in_points}, {self.dim}, D, H, W], got {list(x.shape)}")
        pd, ph, pw = self.padding
        x = nn.functional.pad(x, (pw, pw, ph, ph, pd, pd))  # pads with 0 = the origin of the ball
        for axis, (k, s, dl) in enumerate(zip(self.kernel_size, self.stride, self.dilation)):
            x = x.unfold(3 + axis, dl * (k - 1) + 1, s)
            if dl > 1:
                x = x[..., ::dl]
        # x: [B, Cin, d, Do, Ho, Wo, kd, kh, kw] -> [B, 1, Cin, Do, Ho, Wo, taps, d]
        bb, _, _, do, ho, wo = x.shape[:6]
        x = x.reshape(bb, cin, d, do, ho, wo, -1).permute(0, 1, 3, 4, 5, 6, 2).unsqueeze(1)
        a, p = self.planes()
        a = a[None, :, :, None, None, None]  # [1, O, Cin, 1, 1, 1, taps, d]
        p = p[None, :, :, None, None, None]
        f = G.gyroplane(x, a, p, self.c, signed=True)  # [B, O, Cin, Do, Ho, Wo, taps]
        return f.sum(dim=(2, 6)) + self.bias[None, :, None, None, None]
