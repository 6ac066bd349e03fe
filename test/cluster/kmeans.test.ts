import { describe, expect, it } from 'vitest';
import { ballMixture } from '../../src/bench/ball-mixture.js';
import { naiveInertia, naiveIteration, toPoints } from '../../src/bench/naive-kmeans.js';
import { inertiaOf, kmeans, lloyd, prepareKMeans, seedCentres } from '../../src/cluster/kmeans.js';
import { frechetMean } from '../../src/geometry/frechet.js';
import { dist, logmap, mobiusAdd } from '../../src/geometry/poincare.js';
import { Rng } from '../../src/random.js';
import { matchClusters } from '../../src/eval/hungarian.js';

/** Fraction of points whose cluster maps to their true label under the best one-to-one matching. */
function accuracy(labels: Int32Array, truth: Int32Array): number {
  const m = matchClusters(labels, truth);
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (m.mapping.get(labels[i]) === truth[i]) ok++;
  return ok / labels.length;
}

describe('kmeans (Poincaré)', () => {
  const mix = ballMixture(4000, 6, 2, 5, { radius: 2.5, sigma: 0.12 });

  it('recovers well-separated wrapped-normal clusters', () => {
    const r = kmeans(mix.points, 2, { k: 6, seed: 1, nInit: 4 });
    expect(accuracy(r.labels, mix.labels)).toBeGreaterThan(0.995);
    expect(r.converged).toBe(true);
    expect(r.counts.reduce((a, b) => a + b, 0)).toBe(4000);
  });

  it('its centres are the Fréchet means of their clusters and its labels the nearest centres (a fixed point)', () => {
    const r = kmeans(mix.points, 2, { k: 6, seed: 1, nInit: 2, tol: 1e-10, frechetTol: 1e-12 });
    for (let j = 0; j < 6; j++) {
      const members: number[] = [];
      r.labels.forEach((l, i) => l === j && members.push(mix.points[2 * i], mix.points[2 * i + 1]));
      const m = frechetMean(Float64Array.from(members), 2).mean;
      expect(dist(m, r.centroids.subarray(2 * j, 2 * j + 2), 1)).toBeLessThan(1e-8);
    }
    for (let i = 0; i < 4000; i += 37) {
      const p = mix.points.subarray(2 * i, 2 * i + 2);
      const ds = Array.from({ length: 6 }, (_, j) => dist(p, r.centroids.subarray(2 * j, 2 * j + 2), 1));
      expect(r.labels[i]).toBe(ds.indexOf(Math.min(...ds)));
    }
  });

  it('few Fréchet steps per Lloyd step reach the fixed point of exact steps (same labels, centres, inertia)', () => {
    for (const seed of [0, 1, 2]) {
      const fast = kmeans(mix.points, 2, { k: 6, seed, nInit: 2, tol: 1e-10, frechetTol: 1e-12 });
      const exact = kmeans(mix.points, 2, { k: 6, seed, nInit: 2, tol: 1e-10, frechetTol: 1e-12, frechetSteps: 0 });
      expect(Array.from(fast.labels)).toEqual(Array.from(exact.labels));
      for (let j = 0; j < 6; j++) expect(dist(fast.centroids.subarray(2 * j, 2 * j + 2), exact.centroids.subarray(2 * j, 2 * j + 2), 1)).toBeLessThan(1e-9);
      expect(Math.abs(fast.inertia - exact.inertia) / exact.inertia).toBeLessThan(1e-12);
    }
    expect(() => kmeans(mix.points, 2, { k: 2, frechetSteps: 1.5 })).toThrow(/frechetSteps must be an integer/);
  });

  it('reports the inertia Σ d(x, μ)² recomputed independently', () => {
    const r = kmeans(mix.points, 2, { k: 6, seed: 2, nInit: 1 });
    let s = 0;
    for (let i = 0; i < 4000; i++) s += dist(mix.points.subarray(2 * i, 2 * i + 2), r.centroids.subarray(2 * r.labels[i], 2 * r.labels[i] + 2), 1) ** 2;
    expect(Math.abs(r.inertia - s) / s).toBeLessThan(1e-12);
    expect(Math.abs(inertiaOf(mix.points, 2, r.labels, r.centroids, { k: 6 }) - s) / s).toBeLessThan(1e-12);
  });

  it('agrees with the naive baseline iteration by iteration (same start, same inertia)', () => {
    const small = ballMixture(600, 4, 2, 9);
    const p = prepareKMeans(small.points, 2, { k: 4, maxIter: 3, tol: 0, frechetTol: 1e-9, frechetSteps: 0 });
    const start = seedCentres(p, 0, 0);
    const ours = lloyd(p, Float64Array.from(start));
    const pts = toPoints(small.points, 2);
    let centres = toPoints(start, 2);
    for (let it = 0; it < ours.iterations; it++) centres = naiveIteration(pts, centres, 1).centres;
    const labels = naiveIteration(pts, centres, 1).labels;
    expect(Array.from(ours.labels)).toEqual(labels);
    expect(Math.abs(ours.inertia - naiveInertia(pts, labels, centres, 1)) / ours.inertia).toBeLessThan(1e-6);
  });

  it('is deterministic for a seed, and restarts keep the lowest inertia', () => {
    const a = kmeans(mix.points, 2, { k: 5, seed: 7, nInit: 3 });
    const b = kmeans(mix.points, 2, { k: 5, seed: 7, nInit: 3 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(a.inertia).toBe(b.inertia);
    expect(a.inertia).toBe(Math.min(...a.inertias));
    expect(a.inertias[a.bestInit]).toBe(a.inertia);
  });

  it('honours the curvature: scaling points by 1/√c and clustering with c gives the same labels, inertia / c', () => {
    const c = 2.5;
    const scaled = mix.points.map((v) => v / Math.sqrt(c));
    const a = kmeans(mix.points, 2, { k: 6, seed: 3, nInit: 2 });
    const b = kmeans(scaled, 2, { k: 6, seed: 3, nInit: 2, c });
    expect(Array.from(b.labels)).toEqual(Array.from(a.labels));
    expect(Math.abs(b.inertia - a.inertia / c) / (a.inertia / c)).toBeLessThan(1e-6);
  });

  it('product manifold: g factors cluster by √(Σ d_f²) with a Fréchet mean per factor', () => {
    // Two factors carrying the same clusters: labels as for one factor, inertia doubled.
    const one = ballMixture(1200, 3, 2, 4);
    const two = new Float64Array(1200 * 4);
    for (let i = 0; i < 1200; i++) two.set(one.points.subarray(2 * i, 2 * i + 2), 4 * i), two.set(one.points.subarray(2 * i, 2 * i + 2), 4 * i + 2);
    const a = kmeans(one.points, 2, { k: 3, seed: 0, nInit: 2 });
    const b = kmeans(two, 4, { k: 3, seed: 0, nInit: 2, factors: 2 });
    expect(accuracy(b.labels, a.labels)).toBe(1);
    expect(Math.abs(b.inertia - 2 * a.inertia) / (2 * a.inertia)).toBeLessThan(1e-6);
  });

  it('handles duplicate points and k = N', () => {
    const pts = Float64Array.from([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, -0.5, 0.2]);
    const r = kmeans(pts, 2, { k: 2, nInit: 2 });
    expect(r.counts.sort()).toEqual([1, 3]);
    expect(r.inertia).toBeLessThan(1e-20);
    const all = kmeans(Float64Array.from([0.1, 0.2, -0.3, 0.4, 0.5, -0.5]), 2, { k: 3, nInit: 1 });
    expect(all.inertia).toBeLessThan(1e-20);
    expect([...all.labels].sort()).toEqual([0, 1, 2]);
  });

  it('rejects bad input with errors that name the problem', () => {
    const ok = Float64Array.from([0.1, 0.2, 0.3, 0.4]);
    expect(() => kmeans(new Float64Array(0), 2, { k: 1 })).toThrow(/N = 0/);
    expect(() => kmeans(ok, 2, { k: 0 })).toThrow(/k must be an integer ≥ 1, got 0/);
    expect(() => kmeans(ok, 2, { k: 3 })).toThrow(/k = 3 exceeds the number of points N = 2/);
    expect(() => kmeans(Float64Array.from([0.1, NaN, 0.3, 0.4]), 2, { k: 1 })).toThrow(/point 0 has a non-finite coordinate/);
    expect(() => kmeans(Float64Array.from([0.1, 0.2, 0.9, 0.9]), 2, { k: 1 })).toThrow(/point 1 lies outside the Poincaré ball/);
    expect(() => kmeans(Float64Array.from([0.1, 0.2, 0.9, 0.9]), 2, { k: 1, geometry: 'euclidean' })).not.toThrow();
    expect(() => kmeans(Float64Array.from([0.1, 0.2, 0.3]), 2, { k: 1 })).toThrow(/N × 2 values, got 3/);
    expect(() => kmeans(ok, 2, { k: 1, factors: 3 })).toThrow(/factors must be a positive integer dividing d = 2/);
  });
});

describe('kmeans (Euclidean)', () => {
  it('matches Lloyd computed by hand on a tiny set', () => {
    const pts = Float64Array.from([0, 0, 0, 1, 10, 10, 10, 11]);
    const r = kmeans(pts, 2, { k: 2, geometry: 'euclidean', nInit: 3 });
    const c = Array.from(r.centroids);
    const sorted = [c.slice(0, 2), c.slice(2, 4)].sort((a, b) => a[0] - b[0]);
    expect(sorted).toEqual([[0, 0.5], [10, 10.5]]);
    expect(r.inertia).toBeCloseTo(4 * 0.25, 12);
  });

  it('recovers Gaussian blobs', () => {
    const mix = ballMixture(3000, 5, 3, 8, { radius: 2.5, sigma: 0.1 });
    const r = kmeans(mix.points, 3, { k: 5, geometry: 'euclidean', seed: 4, nInit: 4 });
    expect(accuracy(r.labels, mix.labels)).toBeGreaterThan(0.99);
  });
});

describe('k-medians (centroid: median)', () => {
  /** A skewed 2-D cloud: a bulk and a long tail along +x (a wide cluster's bright tail, in miniature). */
  function skewed(n: number, seed: number, scale: number): Float64Array {
    const rng = new Rng(seed);
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const tail = rng.float() < 0.2;
      out[2 * i] = scale * (tail ? 2 + 4 * rng.float() : 0.3 * rng.normal());
      out[2 * i + 1] = scale * 0.3 * rng.normal();
    }
    return out;
  }
  const sumDist = (pts: Float64Array, m: ArrayLike<number>, geometry: 'poincare' | 'euclidean') => {
    let s = 0;
    for (let i = 0; i < pts.length / 2; i++) {
      const p = pts.subarray(2 * i, 2 * i + 2);
      s += geometry === 'poincare' ? dist(p, m, 1) : Math.hypot(p[0] - m[0], p[1] - m[1]);
    }
    return s;
  };

  it('Euclidean k = 1: the centre is the point of least summed distance, found by an independent grid search', () => {
    const pts = skewed(400, 3, 1);
    const r = kmeans(pts, 2, { k: 1, geometry: 'euclidean', centroid: 'median', nInit: 1, frechetTol: 1e-12, frechetMaxIter: 10_000 });
    // reference: coarse grid over the cloud's box, then finer grids around the best node
    let best = [0, 0];
    let span = 8;
    for (let level = 0; level < 6; level++) {
      let bv = Infinity;
      const [cx, cy] = best;
      for (let a = -20; a <= 20; a++) for (let b = -20; b <= 20; b++) {
        const m = [cx + (a * span) / 20, cy + (b * span) / 20];
        const v = sumDist(pts, m, 'euclidean');
        if (v < bv) {
          bv = v;
          best = m;
        }
      }
      span /= 10;
    }
    expect(Math.hypot(r.centroids[0] - best[0], r.centroids[1] - best[1])).toBeLessThan(1e-5);
    expect(Math.abs(r.inertia - sumDist(pts, best, 'euclidean')) / r.inertia).toBeLessThan(1e-9);
    // the mean sits in the tail's direction, the median with the bulk
    const mean = kmeans(pts, 2, { k: 1, geometry: 'euclidean', nInit: 1 });
    expect(mean.centroids[0]).toBeGreaterThan(0.6);
    expect(Math.abs(r.centroids[0])).toBeLessThan(0.2);
  });

  describe('a heavy point (many points on one spot, as a constant background gives)', () => {
    // One point carrying at least half the weight is the median in any metric space: for every y,
    // Σ w_i d(x_i, y) ≥ Σ_{i≠A} w_i (d(x_i, A) − d(A, y)) + w_A d(A, y) ≥ Σ_{i≠A} w_i d(x_i, A).
    const cases = [
      { name: 'Euclidean', geometry: 'euclidean' as const, factors: 1, a: [0.1, 0.05] },
      { name: 'Poincaré', geometry: 'poincare' as const, factors: 1, a: [0.1, 0.05] },
      { name: 'a product of two balls', geometry: 'poincare' as const, factors: 2, a: [0.1, 0.05, -0.2, 0.1] },
    ];
    const cloud = (a: number[], heavy: number, rest: number, centre: number[], seed: number) => {
      const d = a.length;
      const rng = new Rng(seed);
      const out = new Float64Array(d * (heavy + rest));
      for (let i = 0; i < heavy; i++) out.set(a, i * d);
      for (let i = heavy; i < heavy + rest; i++) for (let t = 0; t < d; t++) out[i * d + t] = centre[t] + 0.25 * (rng.float() - 0.5);
      return out;
    };
    for (const { name, geometry, factors, a } of cases) {
      it(`${name}: holding 60 % of the points, it is the centre exactly, from every start and at a 20-step cap (the estimate was thrown off it and came back only approximately)`, () => {
        const pts = cloud(a, 60, 40, a, 7);
        const d = a.length;
        const atA = inertiaOf(pts, d, new Int32Array(100), Float64Array.from(a), { k: 1, geometry, factors, centroid: 'median' });
        for (const seed of [0, 1, 2, 3]) {
          const r = kmeans(pts, d, { k: 1, geometry, factors, centroid: 'median', nInit: 1, seed, frechetTol: 1e-13, frechetMaxIter: 20 });
          for (let t = 0; t < d; t++) expect(Math.abs(r.centroids[t] - a[t]), `seed ${seed}, coordinate ${t}`).toBeLessThan(1e-12);
          expect(Math.abs(r.inertia - atA) / atA).toBeLessThan(1e-10); // the sums run in another order
        }
      });
      it(`${name}: holding 10 % of the points, the centre leaves it for a point that sums less`, () => {
        const far = a.map((v) => v + 0.15);
        const pts = cloud(a, 10, 90, far, 8);
        const d = a.length;
        const atA = inertiaOf(pts, d, new Int32Array(100), Float64Array.from(a), { k: 1, geometry, factors, centroid: 'median' });
        // started on the heavy point itself
        const r = lloyd(prepareKMeans(pts, d, { k: 1, geometry, factors, centroid: 'median', frechetTol: 1e-13, frechetMaxIter: 10_000 }), Float64Array.from(a));
        let off = 0;
        for (let t = 0; t < d; t++) off = Math.max(off, Math.abs(r.cent[t] - a[t]));
        expect(off).toBeGreaterThan(0.05);
        expect(r.inertia).toBeLessThan(0.7 * atA);
      });
    }
  });

  it('Poincaré k = 1: the first-order condition Σ log_m(x)/‖log_m(x)‖ = 0 holds, no nearby point sums less, and a Möbius translation carries the median along', () => {
    const pts = skewed(300, 5, 0.12);
    const r = kmeans(pts, 2, { k: 1, centroid: 'median', nInit: 1, frechetTol: 1e-13, frechetMaxIter: 10_000 });
    const m = r.centroids.subarray(0, 2);
    const g = [0, 0];
    for (let i = 0; i < 300; i++) {
      const v = logmap(m, pts.subarray(2 * i, 2 * i + 2), 1);
      const nv = Math.hypot(v[0], v[1]);
      g[0] += v[0] / nv;
      g[1] += v[1] / nv;
    }
    expect(Math.hypot(g[0], g[1])).toBeLessThan(1e-6 * 300);
    const at = sumDist(pts, m, 'poincare');
    expect(Math.abs(r.inertia - at) / at).toBeLessThan(1e-12);
    const rng = new Rng(11);
    for (let t = 0; t < 20; t++) {
      const q = [m[0] + 1e-3 * rng.normal(), m[1] + 1e-3 * rng.normal()];
      expect(sumDist(pts, q, 'poincare')).toBeGreaterThan(at);
    }
    // isometry: the median of a ⊕ X is a ⊕ median(X)
    const a = [0.3, -0.2];
    const moved = new Float64Array(600);
    for (let i = 0; i < 300; i++) moved.set(mobiusAdd(a, pts.subarray(2 * i, 2 * i + 2), 1), 2 * i);
    const r2 = kmeans(moved, 2, { k: 1, centroid: 'median', nInit: 1, frechetTol: 1e-13, frechetMaxIter: 10_000 });
    expect(dist(r2.centroids, mobiusAdd(a, m, 1), 1)).toBeLessThan(1e-8);
    expect(Math.abs(r2.inertia - r.inertia) / r.inertia).toBeLessThan(1e-9);
  });

  it('clusters by nearest centre with each centre its cluster\'s median, and reports Σ d', () => {
    const mix = ballMixture(2000, 4, 2, 7, { radius: 2.5, sigma: 0.15 });
    for (const geometry of ['poincare', 'euclidean'] as const) {
      const r = kmeans(mix.points, 2, { k: 4, geometry, centroid: 'median', seed: 1, nInit: 3, tol: 1e-10, frechetTol: 1e-12, frechetMaxIter: 5000 });
      expect(accuracy(r.labels, mix.labels), geometry).toBeGreaterThan(0.99);
      expect(r.converged).toBe(true);
      let s = 0;
      for (let i = 0; i < 2000; i++) {
        const p = mix.points.subarray(2 * i, 2 * i + 2);
        const ds = Array.from({ length: 4 }, (_, j) => sumDist(p, r.centroids.subarray(2 * j, 2 * j + 2), geometry));
        expect(r.labels[i]).toBe(ds.indexOf(Math.min(...ds)));
        s += ds[r.labels[i]];
      }
      expect(Math.abs(r.inertia - s) / s, geometry).toBeLessThan(1e-12);
      expect(Math.abs(inertiaOf(mix.points, 2, r.labels, r.centroids, { k: 4, geometry, centroid: 'median' }) - s) / s).toBeLessThan(1e-12);
      // each centre is its own cluster's median: re-solving one cluster alone (k = 1) lands on it
      for (let j = 0; j < 4; j++) {
        const members: number[] = [];
        r.labels.forEach((l, i) => l === j && members.push(mix.points[2 * i], mix.points[2 * i + 1]));
        const alone = kmeans(Float64Array.from(members), 2, { k: 1, geometry, centroid: 'median', nInit: 1, frechetTol: 1e-13, frechetMaxIter: 10_000 });
        expect(sumDist(alone.centroids, r.centroids.subarray(2 * j, 2 * j + 2), geometry)).toBeLessThan(1e-7);
      }
    }
  });

  it('product of balls: the median of Σ √(Σ_f d_f²) (first-order condition per factor, no nearby point sums less), not the factors\' own medians', () => {
    // two 2-D factors, each skewed, their tails in different points (so the factors' pulls are coupled)
    const n = 300;
    const f1 = skewed(n, 21, 0.12);
    const f2 = skewed(n, 22, 0.1);
    const pts = new Float64Array(4 * n);
    for (let i = 0; i < n; i++) pts.set([f1[2 * i], f1[2 * i + 1], f2[2 * ((i + 37) % n)], f2[2 * ((i + 37) % n) + 1]], 4 * i);
    const productSum = (m: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.hypot(dist(pts.subarray(4 * i, 4 * i + 2), [m[0], m[1]], 1), dist(pts.subarray(4 * i + 2, 4 * i + 4), [m[2], m[3]], 1));
      return s;
    };
    const r = kmeans(pts, 4, { k: 1, factors: 2, centroid: 'median', nInit: 1, frechetTol: 1e-13, frechetMaxIter: 10_000 });
    expect(r.converged).toBe(true);
    const m = Array.from(r.centroids);
    const at = productSum(m);
    expect(Math.abs(r.inertia - at) / at).toBeLessThan(1e-12);
    // ∇_{m_f} Σ_i D_i = −Σ_i log_{m_f}(x_if)/D_i: zero in each factor (the metric is conformal, so the coordinates' sum)
    const g = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const a = pts.subarray(4 * i, 4 * i + 2);
      const b = pts.subarray(4 * i + 2, 4 * i + 4);
      const D = Math.hypot(dist(a, m.slice(0, 2), 1), dist(b, m.slice(2), 1));
      const la = logmap(m.slice(0, 2), a, 1);
      const lb = logmap(m.slice(2), b, 1);
      g[0] += la[0] / D;
      g[1] += la[1] / D;
      g[2] += lb[0] / D;
      g[3] += lb[1] / D;
    }
    expect(Math.hypot(g[0], g[1])).toBeLessThan(1e-6 * n);
    expect(Math.hypot(g[2], g[3])).toBeLessThan(1e-6 * n);
    const rng = new Rng(12);
    for (let t = 0; t < 20; t++) expect(productSum(m.map((v) => v + 1e-3 * rng.normal()))).toBeGreaterThan(at);
    // each factor's own median (k = 1 on that factor alone) is another point, and sums more
    const own = [0, 2].flatMap((o) => {
      const f = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) f.set(pts.subarray(4 * i + o, 4 * i + o + 2), 2 * i);
      return Array.from(kmeans(f, 2, { k: 1, centroid: 'median', nInit: 1, frechetTol: 1e-13, frechetMaxIter: 10_000 }).centroids);
    });
    expect(Math.hypot(own[0] - m[0], own[1] - m[1], own[2] - m[2], own[3] - m[3])).toBeGreaterThan(1e-3);
    expect(productSum(own)).toBeGreaterThan(at * (1 + 1e-6));
  });

  it('product of balls, k = 3: labels the nearest centres, inertia Σ D recomputed, each centre its own cluster\'s median', () => {
    // three clusters of 2 × 2-D points around well-apart centres
    const rng = new Rng(5);
    const centres = [[0.5, 0, -0.3, 0.2], [-0.4, 0.3, 0.4, 0], [0, -0.5, 0, -0.4]];
    const n = 600;
    const pts = new Float64Array(4 * n);
    for (let i = 0; i < n; i++) for (let t = 0; t < 4; t++) pts[4 * i + t] = centres[i % 3][t] + 0.06 * rng.normal();
    const D = (p: ArrayLike<number>, c: ArrayLike<number>) => Math.hypot(dist([p[0], p[1]], [c[0], c[1]], 1), dist([p[2], p[3]], [c[2], c[3]], 1));
    const r = kmeans(pts, 4, { k: 3, factors: 2, centroid: 'median', seed: 2, nInit: 3, tol: 1e-10, frechetTol: 1e-12, frechetMaxIter: 5000 });
    expect(r.converged).toBe(true);
    let s = 0;
    for (let i = 0; i < n; i++) {
      const p = pts.subarray(4 * i, 4 * i + 4);
      const ds = [0, 1, 2].map((j) => D(p, r.centroids.subarray(4 * j, 4 * j + 4)));
      expect(r.labels[i]).toBe(ds.indexOf(Math.min(...ds)));
      s += ds[r.labels[i]];
    }
    expect(Math.abs(r.inertia - s) / s).toBeLessThan(1e-12);
    for (let j = 0; j < 3; j++) {
      const members: number[] = [];
      r.labels.forEach((l, i) => l === j && members.push(...pts.subarray(4 * i, 4 * i + 4)));
      const alone = kmeans(Float64Array.from(members), 4, { k: 1, factors: 2, centroid: 'median', nInit: 1, frechetTol: 1e-13, frechetMaxIter: 10_000 });
      expect(D(alone.centroids, r.centroids.subarray(4 * j, 4 * j + 4))).toBeLessThan(1e-7);
    }
  });

  it('one dimension: each centre is exactly its cluster\'s middle value (the midpoint of the middle two for an even count)', () => {
    const rng = new Rng(8);
    for (const n of [301, 300]) {
      // a bulk and a far tail: the median stays with the bulk
      const x = Float64Array.from({ length: n }, () => (rng.float() < 0.25 ? 5 + 3 * rng.float() : rng.normal()));
      const r = kmeans(x, 1, { k: 1, geometry: 'euclidean', centroid: 'median', nInit: 1 });
      const v = Array.from(x).sort((a, b) => a - b);
      const want = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
      expect(r.centroids[0]).toBe(want);
      expect(Math.abs(r.inertia - v.reduce((s, t) => s + Math.abs(t - want), 0)) / r.inertia).toBeLessThan(1e-12);
      const k2 = kmeans(x, 1, { k: 2, geometry: 'euclidean', centroid: 'median', nInit: 2, seed: 3 });
      for (let j = 0; j < 2; j++) {
        const m = Array.from(x).filter((_, i) => k2.labels[i] === j).sort((a, b) => a - b);
        const h = m.length >> 1;
        expect(k2.centroids[j]).toBe(m.length % 2 ? m[h] : (m[h - 1] + m[h]) / 2);
      }
      x.forEach((t, i) => expect(Math.abs(t - k2.centroids[k2.labels[i]])).toBeLessThanOrEqual(Math.abs(t - k2.centroids[1 - k2.labels[i]])));
    }
  });

  it('names an unknown centroid', () => {
    expect(() => kmeans(new Float64Array(8), 2, { k: 1, centroid: 'mode' as 'mean' })).toThrow(/centroid must be 'mean' or 'median', got 'mode'/);
  });
});
