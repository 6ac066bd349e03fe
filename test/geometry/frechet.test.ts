import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { frechetMean, frechetWeight } from '../../src/geometry/frechet.js';
import { dist, expmap, lambda, logmap, mobiusScalarMul } from '../../src/geometry/poincare.js';
import { Rng } from '../../src/random.js';
import { expectClose, norm, randomPoint } from '../helpers/random.js';

/** Σ w_l log_μ(x_l): half the negative Riemannian gradient of Σ w_l d(x_l, μ)², zero at the mean. */
function gradient(points: number[][], weights: number[], mean: ArrayLike<number>, c: number): number[] {
  const g = new Array<number>(mean.length).fill(0);
  points.forEach((p, l) => logmap(mean, p, c).forEach((v, t) => (g[t] += weights[l] * v)));
  return g;
}

const rows = (flat: Float64Array, d: number): number[][] => Array.from({ length: flat.length / d }, (_, i) => Array.from(flat.subarray(i * d, (i + 1) * d)));

describe('frechetWeight', () => {
  it('tends to 4 at u → 0 (no clamp blow-up) and equals 2·arcosh(1 + 2u)/√(u² + u) elsewhere', () => {
    expect(frechetWeight(0)).toBe(4);
    expect(frechetWeight(1e-30)).toBeCloseTo(4, 14);
    expect(frechetWeight(1e-12)).toBeCloseTo(4, 11);
    for (const u of [1e-6, 0.01, 0.5, 3, 100, 1e8]) {
      const ref = (2 * Math.acosh(1 + 2 * u)) / Math.sqrt(u * u + u);
      expect(Math.abs(frechetWeight(u) - ref) / ref).toBeLessThan(1e-9);
    }
  });
});

describe('frechetMean', () => {
  it('of one point is that point', () => {
    const r = frechetMean(Float64Array.from([0.3, -0.7]), 2);
    expectClose(r.mean, [0.3, -0.7], 1e-14, 1e-16, 'one point');
    expect(r.converged).toBe(true);
  });

  for (const c of [0.5, 1, 2]) {
    it(`of two points is the geodesic midpoint (c = ${c})`, () => {
      const rng = new Rng(3, c * 10);
      for (let trial = 0; trial < 10; trial++) {
        const x = randomPoint(rng, 3, c, 0.95);
        const y = randomPoint(rng, 3, c, 0.95);
        const mid = expmap(x, logmap(x, y, c).map((t) => t / 2), c);
        const r = frechetMean(Float64Array.from([...x, ...y]), 3, { c });
        expect(dist(r.mean, mid, c)).toBeLessThan(1e-9);
        // unequal weights w, 1 − w: the point at fraction (1 − w) along the geodesic from x
        const w = 0.3;
        const at = expmap(x, logmap(x, y, c).map((t) => t * (1 - w)), c);
        const rw = frechetMean(Float64Array.from([...x, ...y]), 3, { c, weights: [w, 1 - w] });
        expect(dist(rw.mean, at, c)).toBeLessThan(1e-9);
      }
    });
  }

  it('of a symmetric configuration (x and −x pairs, regular polygon) is the origin', () => {
    const pts: number[] = [];
    for (let j = 0; j < 6; j++) pts.push(0.8 * Math.cos((2 * Math.PI * j) / 6), 0.8 * Math.sin((2 * Math.PI * j) / 6));
    const r = frechetMean(Float64Array.from(pts), 2);
    // the iteration stops once a step is < tol = 1e-12 (distance); what remains is below that scale
    expect(norm(r.mean)).toBeLessThan(1e-11);
    const r2 = frechetMean(Float64Array.from([0.5, 0.2, 0.1, -0.5, -0.2, -0.1]), 3);
    expect(norm(r2.mean)).toBeLessThan(1e-11);
  });

  it('is equivariant under Möbius scaling along a line through the origin (points on a diameter)', () => {
    // Points on one diameter: the mean lies on it, at the 1-D hyperbolic mean of their signed distances.
    const ts = [-1.2, 0.3, 0.9, 2.0];
    const dir = [0.6, 0.8];
    const pts = ts.flatMap((t) => Array.from(mobiusScalarMul(t, dir.map((v) => v * Math.tanh(0.5)), 1)));
    const r = frechetMean(Float64Array.from(pts), 2);
    const meanT = ts.reduce((a, b) => a + b, 0) / ts.length; // the geodesic is isometric to ℝ, coordinate t·1
    const expected = mobiusScalarMul(meanT, dir.map((v) => v * Math.tanh(0.5)), 1);
    expect(dist(r.mean, expected, 1)).toBeLessThan(1e-10);
  });

  for (const c of [0.5, 1, 2]) {
    it(`has a vanishing Riemannian gradient at the result (random sets, weights, c = ${c})`, () => {
      const rng = new Rng(21, c * 10);
      for (let trial = 0; trial < 8; trial++) {
        const n = 3 + rng.int(40);
        const d = 2 + rng.int(4);
        const flat = new Float64Array(n * d);
        for (let i = 0; i < n; i++) flat.set(randomPoint(rng, d, c, 0.98), i * d);
        const w = Array.from({ length: n }, () => 0.1 + rng.float());
        const r = frechetMean(flat, d, { c, weights: w });
        expect(r.converged).toBe(true);
        // ‖Σ w log_μ x‖ in the Riemannian norm at μ, relative to the total weight
        const g = gradient(rows(flat, d), w, r.mean, c);
        expect((lambda(r.mean, c) * norm(g)) / w.reduce((a, b) => a + b, 0)).toBeLessThan(1e-9);
      }
    });
  }

  it('matches the golden means (50-digit mpmath iteration, checked by its first-order condition)', () => {
    const golden = JSON.parse(readFileSync(new URL('../../proto/vectors/geometry.json', import.meta.url), 'utf8')) as {
      cases: { frechet_mean: { c: number; points: number[][]; weights: number[]; mean: number[] }[] };
    };
    for (const t of golden.cases.frechet_mean) {
      const d = t.mean.length;
      const r = frechetMean(Float64Array.from(t.points.flat()), d, { c: t.c, weights: t.weights });
      expectClose(r.mean, t.mean, 1e-10, 1e-13, `frechet ${JSON.stringify(t)}`);
    }
  });

  it('points exactly at the current estimate get the finite limit weight (duplicate points)', () => {
    const r = frechetMean(Float64Array.from([0.4, 0.1, 0.4, 0.1, 0.4, 0.1, -0.2, 0.3]), 2);
    expect(r.mean.every(Number.isFinite)).toBe(true);
    const g = gradient([[0.4, 0.1], [0.4, 0.1], [0.4, 0.1], [-0.2, 0.3]], [1, 1, 1, 1], r.mean, 1);
    expect(norm(g)).toBeLessThan(1e-10);
  });

  it('rejects empty input, bad weights and non-finite points with named errors', () => {
    expect(() => frechetMean(new Float64Array(0), 2)).toThrow(/non-empty N × 2/);
    expect(() => frechetMean(Float64Array.from([0.1, 0.2]), 2, { weights: [-1] })).toThrow(/weights must be finite and ≥ 0/);
    expect(() => frechetMean(Float64Array.from([0.1, 0.2]), 2, { weights: [0] })).toThrow(/must not all be zero/);
    expect(() => frechetMean(Float64Array.from([0.1, NaN]), 2)).toThrow(/non-finite/);
  });
});
