import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  dist, dist0, distBatch, distToPointBatch, expmap, expmap0, expmap0Batch, expmapBatch, gyration, gyroplaneBatch, gyroplaneDist,
  gyroplaneSigned, lambda, logmap, logmap0, logmap0Batch, logmapBatch, mobiusAdd, mobiusAddBatch, mobiusScalarMul, project,
  projectBatch, transport, transport0, transportBatch,
} from '../../src/geometry/poincare.js';
import { BALL_EPS } from '../../src/geometry/stability.js';
import { Rng } from '../../src/random.js';
import { expectClose, norm, pointAtRadius, randomPoint, randomVector } from '../helpers/random.js';

const CURVATURES = [0.5, 1, 2];
const DIMS = [2, 3, 7];
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

/** Literal gyration ⊖(u⊕v) ⊕ (u ⊕ (v ⊕ w)) on a shrunken w (gyrations are linear). */
function gyrationLiteral(u: Float64Array, v: Float64Array, w: Float64Array, c: number): Float64Array {
  const eps = 1e-3 / (norm(w) * Math.sqrt(c) || 1);
  const ws = w.map((t) => t * eps);
  const uv = mobiusAdd(u, v, c);
  const r = mobiusAdd(uv.map((t) => -t), mobiusAdd(u, mobiusAdd(v, ws, c), c), c);
  return r.map((t) => t / eps);
}

describe('Poincaré ball identities (property tests over seeds × dims × curvatures)', () => {
  for (const c of CURVATURES) {
    for (const d of DIMS) {
      it(`c=${c}, d=${d}`, () => {
        for (const seed of SEEDS) {
          const rng = new Rng(seed, d * 10 + c * 100);
          const x = randomPoint(rng, d, c, 0.9);
          const y = randomPoint(rng, d, c, 0.9);
          const z = randomPoint(rng, d, c, 0.9);
          const v = randomVector(rng, d, 0.7);
          // left cancellation: (−x) ⊕ (x ⊕ y) = y
          expectClose(mobiusAdd(x.map((t) => -t), mobiusAdd(x, y, c), c), y, 1e-9, 1e-12, 'left cancellation');
          // exp_x(log_x(y)) = y and log_x(exp_x(v)) = v
          expectClose(expmap(x, logmap(x, y, c), c), y, 1e-9, 1e-12, 'exp∘log');
          // keep the geodesic λ_x‖w‖ ≤ ~5 so that exp_x(w) stays clear of the projection margin
          const w = v.map((t) => t / lambda(x, c));
          expectClose(logmap(x, expmap(x, w, c), c), w, 1e-8, 1e-11, 'log∘exp');
          expectClose(logmap0(expmap0(v, c), c), v, 1e-10, 1e-13, 'log0∘exp0');
          // exp₀ and log₀ are exp_x and log_x at x = 0
          expectClose(expmap0(v, c), expmap(new Float64Array(d), v, c), 1e-12, 1e-15, 'exp0 = exp at 0');
          expectClose(logmap0(y, c), logmap(new Float64Array(d), y, c), 1e-12, 1e-15, 'log0 = log at 0');
          // d(0, x) = (2/√c) artanh(√c‖x‖), symmetry, d(x, y) = λ-norm of log_x(y)
          expect(dist(new Float64Array(d), x, c)).toBeCloseTo((2 / Math.sqrt(c)) * Math.atanh(Math.sqrt(c) * norm(x)), 12);
          expect(dist0(x, c)).toBeCloseTo(dist(new Float64Array(d), x, c), 12);
          expect(Math.abs(dist(x, y, c) - dist(y, x, c))).toBeLessThan(1e-12 * (1 + dist(x, y, c)));
          expect(lambda(x, c) * norm(logmap(x, y, c))).toBeCloseTo(dist(x, y, c), 9);
          // triangle inequality
          expect(dist(x, z, c)).toBeLessThanOrEqual(dist(x, y, c) + dist(y, z, c) + 1e-12);
          // Möbius scalar multiplication: 1 ⊗ x = x, (r+s) ⊗ x = (r ⊗ x) ⊕ (s ⊗ x), d(0, r ⊗ x) = |r| d(0, x)
          expectClose(mobiusScalarMul(1, x, c), x, 1e-12, 1e-15, '1 ⊗ x');
          expectClose(mobiusScalarMul(0.8, x, c), mobiusAdd(mobiusScalarMul(0.3, x, c), mobiusScalarMul(0.5, x, c), c), 1e-9, 1e-12, 'distributive');
          expect(dist0(mobiusScalarMul(-0.4, x, c), c)).toBeCloseTo(0.4 * dist0(x, c), 10);
          // gyration: closed form = literal definition, and it is an isometry of ℝᵈ
          const g = gyration(x, y, v, c);
          expectClose(g, gyrationLiteral(x, y, v, c), 1e-6, 1e-9, 'gyration closed form');
          expect(norm(g)).toBeCloseTo(norm(v), 10);
          // transport preserves the Riemannian norm, and transport back returns v
          const pv = transport(x, y, v, c);
          expect(lambda(y, c) * norm(pv)).toBeCloseTo(lambda(x, c) * norm(v), 9);
          expectClose(transport(y, x, pv, c), v, 1e-9, 1e-12, 'transport back');
          // transport of log_x(y) to y is −log_y(x) (the geodesic's velocity)
          expectClose(transport(x, y, logmap(x, y, c), c), logmap(y, x, c).map((t) => -t), 1e-8, 1e-11, 'transport of log');
          expectClose(transport0(y, v, c), v.map((t) => t * (1 - c * norm(y) ** 2)), 1e-12, 1e-15, 'transport0');
        }
      });
    }
  }
});

describe('stability at the boundary, at zero, for nearly equal points', () => {
  const c = 1;
  it('no NaN or Inf from points on, past or next to the boundary, or at zero', () => {
    const rng = new Rng(11);
    const values: number[] = [];
    for (const r of [0, 1e-300, 1e-15, 1 - 1e-7, 1 - 1e-12, 1 - 1e-16, 1, 1 + 1e-9, 3]) {
      const x = pointAtRadius(rng, 3, r, c);
      const y = pointAtRadius(rng, 3, r, c);
      const v = randomVector(rng, 3, r * 100);
      values.push(
        dist(x, y, c), dist0(x, c), lambda(x, c), gyroplaneSigned(x, v, y, c), gyroplaneDist(x, v, y, c),
        ...mobiusAdd(x, y, c), ...expmap(x, v, c), ...logmap(x, y, c), ...expmap0(v, c), ...logmap0(x, c),
        ...transport(x, y, v, c), ...mobiusScalarMul(3, x, c), ...project(x, c),
      );
    }
    for (const v of values) expect(Number.isFinite(v)).toBe(true);
  });

  it('point-valued results stay strictly inside the ball (projection margin per dtype)', () => {
    const huge = [1e6, -3e5, 2e5];
    expect(norm(expmap0(huge, 1))).toBeLessThanOrEqual(1 - BALL_EPS.float64 + 1e-15);
    const out32 = new Float32Array(3);
    expmap0Batch(Float64Array.from(huge), 3, 1, out32);
    expect(norm(out32)).toBeLessThanOrEqual(1 - BALL_EPS.float32 + 1e-7);
    expect(norm(mobiusAdd([0.9999999, 0, 0], [0.9999999, 0, 0], 1))).toBeLessThan(1);
  });

  it('zero vectors map to zero and distances from a point to itself are exactly 0', () => {
    expect(Array.from(expmap0([0, 0], 1))).toEqual([0, 0]);
    expect(Array.from(logmap0([0, 0], 1))).toEqual([0, 0]);
    expect(Array.from(mobiusScalarMul(2, [0, 0], 1))).toEqual([0, 0]);
    const x = [0.3, -0.9];
    expect(dist(x, x, 1)).toBe(0);
    expect(Array.from(logmap(x, x, 1))).toEqual([0, 0]);
    expectClose(expmap(x, [0, 0], 1), x, 1e-15, 0, 'exp_x(0)');
  });

  it('nearly equal points: the distance keeps full relative precision', () => {
    // For x and y = x + δe with δ → 0: d ≈ λ_x δ (first order). The asinh form keeps ~1e-15 relative
    // accuracy where arcosh(1 + 2u) would lose all digits below δ ≈ 1e-8.
    const x = [0.5, 0.3];
    for (const step of [1e-6, 1e-10, 1e-14]) {
      const y = [0.5 + step, 0.3];
      const delta = y[0] - x[0]; // the step float64 actually took
      const expected = lambda(x, 1) * delta;
      // second-order terms are O(δ) relative; round-off adds a few ulps
      expect(Math.abs(dist(x, y, 1) - expected) / expected).toBeLessThan(3 * delta + 1e-14);
    }
  });

  it('gyroplane: distance is 0 on the plane, |signed| = λ_p‖a‖·distance, a = 0 gives 0', () => {
    const p = [0.2, -0.4, 0.1];
    const a = [0.3, 0.5, -1];
    // exp_p(w) with w ⟂ a lies on H_{a,p}
    const onPlane = expmap(p, [0.5, -0.3, 0], 1);
    expect(gyroplaneDist(onPlane, a, p, 1)).toBeLessThan(1e-12);
    const x = [-0.5, 0.1, 0.6];
    expect(Math.abs(gyroplaneSigned(x, a, p, 1))).toBeCloseTo(lambda(p, 1) * norm(a) * gyroplaneDist(x, a, p, 1), 12);
    expect(gyroplaneSigned(x, [0, 0, 0], p, 1)).toBe(0);
    // opposite sides of the plane have opposite signs
    const s1 = gyroplaneSigned(expmap(p, a.map((t) => 0.2 * t), 1), a, p, 1);
    const s2 = gyroplaneSigned(expmap(p, a.map((t) => -0.2 * t), 1), a, p, 1);
    expect(s1).toBeGreaterThan(0);
    expect(s2).toBeLessThan(0);
  });

  it('bad curvature and mismatched dimensions are errors that name the problem', () => {
    expect(() => dist([0.1], [0.2], 0)).toThrow(/curvature c must be a finite number > 0/);
    expect(() => dist([0.1], [0.2], -1)).toThrow(/got -1/);
    expect(() => mobiusAdd([0.1, 0.2], [0.1], 1)).toThrow(/same dimension, got 2 and 1/);
    expect(() => distBatch(new Float64Array(5), new Float64Array(5), 2, 1)).toThrow(/not a multiple of 2/);
  });
});

describe('batched forms equal the scalar forms, for float32 and float64 storage', () => {
  const n = 50;
  const d = 3;
  const c = 1.5;
  const rng = new Rng(99);
  const X = new Float64Array(n * d);
  const Y = new Float64Array(n * d);
  const V = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    X.set(randomPoint(rng, d, c), i * d);
    Y.set(randomPoint(rng, d, c), i * d);
    V.set(randomVector(rng, d), i * d);
  }
  const row = (a: ArrayLike<number>, i: number): number[] => Array.from({ length: d }, (_, t) => a[i * d + t]);
  const cases: [string, () => ArrayLike<number>, (i: number) => ArrayLike<number>][] = [
    ['mobiusAddBatch', () => mobiusAddBatch(X, Y, d, c), (i) => mobiusAdd(row(X, i), row(Y, i), c)],
    ['expmap0Batch', () => expmap0Batch(V, d, c), (i) => expmap0(row(V, i), c)],
    ['logmap0Batch', () => logmap0Batch(Y, d, c), (i) => logmap0(row(Y, i), c)],
    ['expmapBatch', () => expmapBatch(X, V, d, c), (i) => expmap(row(X, i), row(V, i), c)],
    ['logmapBatch', () => logmapBatch(X, Y, d, c), (i) => logmap(row(X, i), row(Y, i), c)],
    ['transportBatch', () => transportBatch(X, Y, V, d, c), (i) => transport(row(X, i), row(Y, i), row(V, i), c)],
    ['projectBatch', () => projectBatch(V, d, c, new Float64Array(n * d)), (i) => project(row(V, i), c)],
  ];
  for (const [name, batch, scalar] of cases) {
    it(name, () => {
      const out = batch();
      for (let i = 0; i < n; i++) expectClose(row(out, i), scalar(i), 1e-15, 1e-15, `${name} row ${i}`);
    });
  }
  it('distBatch, distToPointBatch, gyroplaneBatch', () => {
    const db = distBatch(X, Y, d, c);
    const dp = distToPointBatch(X, d, row(Y, 0), c);
    const gb = gyroplaneBatch(X, d, row(V, 0), row(Y, 0), c);
    for (let i = 0; i < n; i++) {
      expect(db[i]).toBe(dist(row(X, i), row(Y, i), c));
      expect(dp[i]).toBe(dist(row(X, i), row(Y, 0), c));
      expect(gb[i]).toBe(gyroplaneSigned(row(X, i), row(V, 0), row(Y, 0), c));
    }
  });
  it('float32 output arrays are written in place and projected with the float32 margin', () => {
    const out = new Float32Array(n * d);
    expmap0Batch(V.map((t) => t * 50), d, c, out);
    for (let i = 0; i < n; i++) expect(norm(row(out, i)) * Math.sqrt(c)).toBeLessThanOrEqual(1 - BALL_EPS.float32 + 1e-6);
    const inPlace = Float64Array.from(X);
    mobiusAddBatch(inPlace, Y, d, c, inPlace);
    expectClose(inPlace, mobiusAddBatch(X, Y, d, c), 0, 0, 'in-place');
  });
});

interface Golden {
  cases: Record<string, Record<string, number | number[]>[]>;
}

describe('golden vectors (proto/vectors/geometry.json, 50-digit mpmath)', () => {
  const golden = JSON.parse(readFileSync(new URL('../../proto/vectors/geometry.json', import.meta.url), 'utf8')) as Golden;
  const G = golden.cases;
  const v = (x: number | number[]) => x as number[];
  const s = (x: number | number[]) => x as number;
  // Tolerances: the inputs are exact, the references correctly rounded; the error is float64
  // round-off amplified by the conditioning, which grows like 1/(1 − c‖x‖²) (up to 1e6 for the
  // 1 − 1e-6 radius cases). Relative 1e-9 plus an absolute floor covers that with margin.
  const R = 1e-9;
  const A = 1e-12;
  it('has cases for every operation', () => {
    for (const k of ['mobius_add', 'mobius_scalar_mul', 'expmap0', 'logmap0', 'expmap', 'logmap', 'dist', 'lambda', 'transport', 'gyroplane', 'frechet_mean']) {
      expect(G[k].length, k).toBeGreaterThan(10);
    }
  });
  it('mobius_add, mobius_scalar_mul, expmap0, logmap0, expmap, logmap', () => {
    for (const t of G.mobius_add) expectClose(mobiusAdd(v(t.x), v(t.y), s(t.c)), v(t.out), R, A, `mobius_add ${JSON.stringify(t)}`);
    for (const t of G.mobius_scalar_mul) expectClose(mobiusScalarMul(s(t.r), v(t.x), s(t.c)), v(t.out), R, A, `scalar_mul ${JSON.stringify(t)}`);
    for (const t of G.expmap0) expectClose(expmap0(v(t.v), s(t.c)), v(t.out), R, A, 'expmap0');
    for (const t of G.logmap0) expectClose(logmap0(v(t.y), s(t.c)), v(t.out), R, A, 'logmap0');
    for (const t of G.expmap) expectClose(expmap(v(t.x), v(t.v), s(t.c)), v(t.out), R, A, `expmap ${JSON.stringify(t)}`);
    for (const t of G.logmap) expectClose(logmap(v(t.x), v(t.y), s(t.c)), v(t.out), R, A, `logmap ${JSON.stringify(t)}`);
  });
  it('dist, lambda, transport, gyroplane', () => {
    for (const t of G.dist) expectClose([dist(v(t.x), v(t.y), s(t.c))], [s(t.out)], R, A, `dist ${JSON.stringify(t)}`);
    for (const t of G.lambda) expectClose([lambda(v(t.x), s(t.c))], [s(t.out)], R, 0, 'lambda');
    for (const t of G.transport) expectClose(transport(v(t.x), v(t.y), v(t.v), s(t.c)), v(t.out), R, A, `transport ${JSON.stringify(t)}`);
    for (const t of G.gyroplane) {
      expectClose([gyroplaneSigned(v(t.x), v(t.a), v(t.p), s(t.c))], [s(t.signed)], R, A, `gyroplane signed ${JSON.stringify(t)}`);
      expectClose([gyroplaneDist(v(t.x), v(t.a), v(t.p), s(t.c))], [s(t.dist)], R, A, 'gyroplane dist');
    }
  });
});
