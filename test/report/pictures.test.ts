/**
 * The disk picture's projection (diskCoordinates): the identity for d ≤ 2; for d > 2 principal
 * geodesic analysis at the origin, checked against closed forms — embeddings inside a totally
 * geodesic 2-plane through the origin keep all pairwise Poincaré distances, and the principal
 * directions of an anisotropic Gaussian are its known axes.
 */

import { describe, expect, it } from 'vitest';
import { dist, expmap0 } from '../../src/geometry/poincare.js';
import { Rng } from '../../src/random.js';
import { diskCoordinates, diskPlot } from '../../src/report/pictures.js';

/** `k` orthonormal vectors of R^d (Gram–Schmidt of Gaussian vectors), as rows. */
function orthonormal(rng: Rng, d: number, k: number): Float64Array[] {
  const rows: Float64Array[] = [];
  while (rows.length < k) {
    const v = Float64Array.from({ length: d }, () => rng.normal());
    for (const r of rows) {
      let p = 0;
      for (let j = 0; j < d; j++) p += v[j] * r[j];
      for (let j = 0; j < d; j++) v[j] -= p * r[j];
    }
    const n = Math.hypot(...v);
    rows.push(v.map((x) => x / n));
  }
  return rows;
}

describe('diskCoordinates', () => {
  it('d = 2: the coordinates themselves (divided by the ball radius 1/√c)', () => {
    const pts = Float32Array.from([0.1, -0.2, 0.5, 0.49, -0.3, 0]);
    const { xy, axes } = diskCoordinates(pts, 2, { hyperbolic: true, curvature: 4 });
    expect(axes).toBeNull();
    for (let i = 0; i < 6; i++) expect(xy[i]).toBeCloseTo(pts[i] * 2, 12);
  });

  it('d = 5, hyperbolic: points of a geodesic 2-plane through 0 keep every pairwise distance (to 1e-9)', () => {
    const rng = new Rng(3);
    const d = 5;
    const c = 1.5;
    const [u, v] = orthonormal(rng, d, 2);
    const n = 60;
    const pts = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const a = 1.4 * rng.normal();
      const b = 0.6 * rng.normal();
      pts.set(expmap0(u.map((x, j) => a * x + b * v[j]), c), i * d);
    }
    pts.set(expmap0(u.map((x) => 9 * x), c), 0); // one point a hair from the boundary (tanh 9·√1.5)
    const { xy, axes } = diskCoordinates(pts, d, { hyperbolic: true, curvature: c });
    expect(xy.every(Number.isFinite)).toBe(true);
    const r = 1 / Math.sqrt(c); // diskCoordinates returns units of the ball radius
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const want = dist(pts.subarray(i * d, i * d + d), pts.subarray(j * d, j * d + d), c);
        const got = dist([xy[2 * i] * r, xy[2 * i + 1] * r], [xy[2 * j] * r, xy[2 * j + 1] * r], c);
        worst = Math.max(worst, Math.abs(got - want) / Math.max(1, want));
      }
    }
    expect(worst).toBeLessThan(1e-9);
    expect(Math.hypot(xy[0], xy[1])).toBeLessThan(1);
    // the axes span the plane of u and v
    for (let k = 0; k < 2; k++) {
      const row = axes!.subarray(k * d, k * d + d);
      let pu = 0;
      let pv = 0;
      for (let j = 0; j < d; j++) {
        pu += row[j] * u[j];
        pv += row[j] * v[j];
      }
      expect(Math.hypot(pu, pv)).toBeCloseTo(1, 9);
    }
  });

  it('d = 4, Euclidean: the two leading axes of an anisotropic Gaussian (sd 3, 2, 1, 0.5), farthest point on the rim', () => {
    const rng = new Rng(8);
    const d = 4;
    const basis = orthonormal(rng, d, 4);
    const sds = [3, 2, 1, 0.5];
    const n = 20_000;
    const pts = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 4; k++) {
        const z = sds[k] * rng.normal();
        for (let j = 0; j < d; j++) pts[i * d + j] += z * basis[k][j];
      }
    }
    const { xy, axes } = diskCoordinates(pts, d, { hyperbolic: false });
    for (let k = 0; k < 2; k++) {
      let p = 0;
      for (let j = 0; j < d; j++) p += axes![k * d + j] * basis[k][j];
      expect(Math.abs(p)).toBeGreaterThan(0.995); // sampling error of the axes at n = 20,000
    }
    let rmax = 0;
    for (let i = 0; i < n; i++) rmax = Math.max(rmax, Math.hypot(xy[2 * i], xy[2 * i + 1]));
    expect(rmax).toBeCloseTo(1, 12);
  });

  it('draws a d = 6 embedding: one panel per colouring, coloured dots only inside the rim', () => {
    const rng = new Rng(1);
    const d = 6;
    const pts = new Float32Array(3000 * d);
    for (let i = 0; i < 3000; i++) pts.set(expmap0(Array.from({ length: d }, () => 1.5 * rng.normal())), i * d); // many near the boundary
    const labels = Int32Array.from({ length: 3000 }, (_, i) => i % 3);
    const cv = diskPlot(pts, d, [labels, labels], { hyperbolic: true });
    expect(cv.width).toBe(2 * 330 + 10);
    expect(cv.height).toBe(340);
    // panel 0: centre (170, 170), rim radius 156; coloured (non-grey) pixels only inside the rim
    let inside = 0;
    let outside = 0;
    for (let y = 0; y < cv.height; y++) {
      for (let x = 10; x < 330; x++) {
        const o = 4 * (y * cv.width + x);
        const [r, g, b] = [cv.data[o], cv.data[o + 1], cv.data[o + 2]];
        if (r === g && g === b) continue; // white background, grey rim and grey label-0 dots
        if (Math.hypot(x - 170, y - 170) < 156 + 2) inside++; // + the dot's radius
        else outside++;
      }
    }
    expect(outside).toBe(0);
    expect(inside).toBeGreaterThan(500);
  });
});
