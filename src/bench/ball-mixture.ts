/**
 * Seeded synthetic point sets in the Poincaré ball: a mixture of k wrapped normals, centres spread
 * around the origin at a given hyperbolic radius. Used by the clustering benchmark and tests.
 */

import { expmapAt, expmap0At } from '../geometry/poincare.js';
import { Rng } from '../random.js';

export interface BallMixture {
  points: Float64Array;
  labels: Int32Array;
  centres: Float64Array;
}

/**
 * n points of dimension d: centre j = exp₀(radius·u_j) with u_j unit vectors (evenly spaced angles
 * in the first two coordinates); point = exp_{centre}(P_{0→centre} v), v ~ N(0, sigma²) in T₀.
 */
export function ballMixture(n: number, k: number, d: number, seed: number, options: { c?: number; radius?: number; sigma?: number } = {}): BallMixture {
  const c = options.c ?? 1;
  const radius = options.radius ?? 2.0;
  const sigma = options.sigma ?? 0.15;
  const rng = new Rng(seed);
  const centres = new Float64Array(k * d);
  const tmp = new Float64Array(d);
  for (let j = 0; j < k; j++) {
    tmp.fill(0);
    const angle = (2 * Math.PI * j) / k;
    tmp[0] = radius * Math.cos(angle);
    if (d > 1) tmp[1] = radius * Math.sin(angle);
    expmap0At(tmp, 0, d, c, centres, j * d, 'float64');
  }
  const points = new Float64Array(n * d);
  const labels = new Int32Array(n);
  const v = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const j = i % k;
    labels[i] = j;
    // v ~ N(0, σ²) in T₀, transported to the centre (P_{0→μ}v = (1 − c‖μ‖²)v): a wrapped normal.
    let m2 = 0;
    for (let t = 0; t < d; t++) m2 += centres[j * d + t] ** 2;
    for (let t = 0; t < d; t++) v[t] = sigma * (1 - c * m2) * rng.normal();
    expmapAt(centres, j * d, v, 0, d, c, points, i * d, 'float32', tmp);
  }
  return { points, labels, centres };
}
