import { describe, expect, it } from 'vitest';
import { ballMixture } from '../../src/bench/ball-mixture.js';
import { naiveInertia, naiveIteration, toPoints } from '../../src/bench/naive-kmeans.js';
import { inertiaOf, kmeans, lloyd, prepareKMeans, seedCentres } from '../../src/cluster/kmeans.js';
import { frechetMean } from '../../src/geometry/frechet.js';
import { dist } from '../../src/geometry/poincare.js';
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
