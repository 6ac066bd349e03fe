/**
 * Seeded smooth random fields for the synthetic data generators: white noise blurred by a separable
 * box filter applied twice per axis (≈ Gaussian kernel of σ ≈ radius·√(2/3)), then scaled to zero
 * mean and unit standard deviation. O(N) per pass whatever the radius (running sums). For radius ≥ 1
 * the white noise is uniform (each output averages ≥ 27² inputs, so it is Gaussian to within the
 * central limit theorem, at a quarter of the cost of normal draws); radius 0 gives Gaussian noise.
 */

import type { Rng } from '../random.js';
import type { Shape3 } from '../types.js';


/** Box blur of `radius` along one axis (edge values repeated), in place via `tmp`. */
function boxAxis(a: Float32Array, shape: Shape3, axis: 0 | 1 | 2, radius: number, tmp: Float64Array): void {
  const [nx, ny, nz] = shape;
  const len = shape[axis];
  const stride = axis === 0 ? 1 : axis === 1 ? nx : nx * ny;
  const lines = (nx * ny * nz) / len;
  const norm = 1 / (2 * radius + 1);
  for (let l = 0; l < lines; l++) {
    let base: number;
    if (axis === 0) base = l * nx;
    else if (axis === 1) base = (l % nx) + Math.floor(l / nx) * nx * ny;
    else base = l;
    for (let i = 0; i < len; i++) tmp[i] = a[base + i * stride];
    // Running sum over tmp[i − radius .. i + radius], edges repeated; the clamped index arithmetic
    // is only needed within `radius` of either end.
    let s = 0;
    for (let k = -radius; k <= radius; k++) s += tmp[Math.min(len - 1, Math.max(0, k))];
    const safeEnd = len - radius - 1;
    for (let i = 0; i < len; i++) {
      a[base + i * stride] = s * norm;
      if (i >= radius && i < safeEnd) s += tmp[i + radius + 1] - tmp[i - radius];
      else s += tmp[Math.min(len - 1, i + radius + 1)] - tmp[Math.max(0, i - radius)];
    }
  }
}

/** A smooth field with correlation length ~`radius` voxels (radius 0: white noise), mean 0, std 1. */
export function smoothNoise(shape: Shape3, radius: number, rng: Rng): Float32Array {
  const n = shape[0] * shape[1] * shape[2];
  const a = new Float32Array(n);
  if (radius > 0) for (let i = 0; i < n; i++) a[i] = rng.float() - 0.5;
  else for (let i = 0; i < n; i++) a[i] = rng.normal();
  if (radius > 0) {
    const tmp = new Float64Array(Math.max(...shape));
    for (let pass = 0; pass < 2; pass++) for (const axis of [0, 1, 2] as const) boxAxis(a, shape, axis, radius, tmp);
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += a[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (a[i] - mean) ** 2;
  const sd = Math.sqrt(v / n) || 1;
  for (let i = 0; i < n; i++) a[i] = (a[i] - mean) / sd;
  return a;
}
