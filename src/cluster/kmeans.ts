/**
 * k-means on the Poincaré ball (and its products) and in Euclidean space, over flat N × d arrays.
 *
 * Poincaré: assignment by Poincaré distance, centroid by weighted Fréchet mean (Lou et al. 2020,
 * src/geometry/frechet.ts), inertia = Σ d(x_i, μ_{label i})². Euclidean: Lloyd's algorithm.
 * `centroid: 'median'` (k-medians): each centre the point minimising the sum of distances to its
 * cluster (the Fréchet median; Weiszfeld's iteration in Euclidean space; on a product of balls the
 * factors share each step's weights), inertia = Σ d(x_i, μ_{label i}) — less pulled by a cluster's long
 * tail than the mean.
 * Both: greedy k-means++ seeding (Arthur & Vassilvitskii 2007, with 2 + ⌊ln k⌋ local trials per
 * centre as scikit-learn does) under the geometry's own squared distance; `nInit` seeded restarts,
 * the lowest inertia kept; empty clusters re-seeded with the point farthest from its centre.
 *
 * Product manifolds: with `factors` = g, a row of d values is g ball points of dimension d/g; the
 * distance is √(Σ_f d_f²) and the Fréchet mean separates into one mean per factor.
 *
 * Hot loops allocate nothing per point. The single-ball assignment compares
 * ‖x − μ_j‖²/(1 − c‖μ_j‖²), which orders centres exactly as the distance does (the distance is
 * increasing in u = c‖x − μ‖²/((1 − c‖x‖²)(1 − c‖μ‖²)) and the x factor is common), so asinh is
 * evaluated once per point rather than k times.
 */

import { HypersegError } from '../errors.js';
import { frechetMeansByLabel, medianPull, moveTowards } from '../geometry/frechet.js';
import { checkCurvature, type FloatArray } from '../geometry/poincare.js';
import { oneMinusCNormSq } from '../geometry/stability.js';
import { Rng } from '../random.js';

export type Geometry = 'poincare' | 'euclidean';
/** Cluster centres: means (k-means) or medians (k-medians). */
export const CENTROIDS = ['mean', 'median'] as const;
export type Centroid = (typeof CENTROIDS)[number];

export interface KMeansOptions {
  k: number;
  /** Default 'poincare'. */
  geometry?: Geometry;
  /** Centre of a cluster: 'mean' (k-means, default) or 'median' (k-medians). */
  centroid?: Centroid;
  /** Curvature magnitude (Poincaré only), default 1. */
  c?: number;
  /** Number of ball factors in a row (product manifold), default 1. Must divide d. */
  factors?: number;
  /** Default 0. Restart r draws from stream r of this seed. */
  seed?: number;
  /** Restarts, the lowest inertia kept (default 10). */
  nInit?: number;
  /** Lloyd iterations per restart (default 300). */
  maxIter?: number;
  /** Converged when no centre moves more than `tol` (in the geometry's distance) (default 1e-6). */
  tol?: number;
  /** Fréchet-mean tolerance and iteration cap per k-means step (defaults 1e-9, 100). */
  frechetTol?: number;
  frechetMaxIter?: number;
  /**
   * Fréchet iterations per Lloyd step while the centres still move (default 3; 0 = iterate every
   * mean to `frechetTol` at every step). The means are warm-started at the current centres, and
   * before convergence is declared one update runs them to `frechetTol`, so the result is the same
   * fixed point (its centres are the Fréchet means of their clusters) at a third to a half of the time.
   */
  frechetSteps?: number;
}

export interface KMeansResult {
  labels: Int32Array;
  /** k × d centres. */
  centroids: Float64Array;
  k: number;
  d: number;
  geometry: Geometry;
  inertia: number;
  /** Lloyd iterations of the kept restart. */
  iterations: number;
  converged: boolean;
  /** Index of the kept restart, and every restart's inertia. */
  bestInit: number;
  inertias: number[];
  /** Points per cluster. */
  counts: number[];
}

interface Problem {
  x: FloatArray;
  n: number;
  d: number;
  k: number;
  geometry: Geometry;
  /** k-medians: centres are medians, the inertia sums distances. */
  median: boolean;
  c: number;
  factors: number;
  fd: number;
  /** 1/(1 − c‖x_{i,f}‖²), N × factors (Poincaré only). */
  xInv: Float64Array;
  tol: number;
  maxIter: number;
  frechetTol: number;
  frechetMaxIter: number;
  frechetSteps: number;
}

/** Validates the input and options; throws HypersegError naming the first problem. */
function setup(x: FloatArray, d: number, o: KMeansOptions): Problem {
  const geometry = o.geometry ?? 'poincare';
  if (geometry !== 'poincare' && geometry !== 'euclidean') {
    throw new HypersegError('INVALID_ARGUMENT', `geometry must be 'poincare' or 'euclidean', got '${String(geometry)}'`);
  }
  if (!Number.isInteger(d) || d < 1) throw new HypersegError('INVALID_ARGUMENT', `dimension d must be a positive integer, got ${d}`);
  if (x.length % d !== 0) throw new HypersegError('SHAPE_MISMATCH', `embeddings must hold N × ${d} values, got ${x.length}`);
  const n = x.length / d;
  if (n === 0) throw new HypersegError('INVALID_INPUT', 'no points to cluster (N = 0)');
  const k = o.k;
  if (!Number.isInteger(k) || k < 1) throw new HypersegError('INVALID_ARGUMENT', `k must be an integer ≥ 1, got ${k}`);
  if (k > n) throw new HypersegError('INVALID_ARGUMENT', `k = ${k} exceeds the number of points N = ${n}`);
  const c = o.c ?? 1;
  checkCurvature(c);
  const factors = o.factors ?? 1;
  if (!Number.isInteger(factors) || factors < 1 || d % factors !== 0) {
    throw new HypersegError('INVALID_ARGUMENT', `factors must be a positive integer dividing d = ${d}, got ${factors}`);
  }
  const positiveInt = (v: number, name: string): number => {
    if (!Number.isInteger(v) || v < 1) throw new HypersegError('INVALID_ARGUMENT', `${name} must be an integer ≥ 1, got ${v}`);
    return v;
  };
  const nonNegative = (v: number, name: string): number => {
    if (!(v >= 0) || !Number.isFinite(v)) throw new HypersegError('INVALID_ARGUMENT', `${name} must be a finite number ≥ 0, got ${v}`);
    return v;
  };
  positiveInt(o.nInit ?? 10, 'nInit');
  const centroid = o.centroid ?? 'mean';
  if (!CENTROIDS.includes(centroid)) throw new HypersegError('INVALID_ARGUMENT', `centroid must be 'mean' or 'median', got '${String(centroid)}'`);
  const fd = d / factors;
  const xInv = new Float64Array(geometry === 'poincare' ? n * factors : 0);
  const r2max = 1 / c;
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < factors; f++) {
      const o0 = i * d + f * fd;
      let s = 0;
      for (let t = 0; t < fd; t++) {
        const v = x[o0 + t];
        if (!Number.isFinite(v)) throw new HypersegError('NON_FINITE', `point ${i} has a non-finite coordinate (${v}) at column ${f * fd + t}`);
        s += v * v;
      }
      if (geometry === 'poincare') {
        if (!(s < r2max)) {
          throw new HypersegError(
            'OUT_OF_BALL',
            `point ${i}${factors > 1 ? ` (factor ${f})` : ''} lies outside the Poincaré ball: ‖x‖ = ${Math.sqrt(s)} ≥ 1/√c = ${Math.sqrt(r2max)}`,
            { suggestion: 'pass --geometry euclidean for Euclidean embeddings, or check the curvature' },
          );
        }
        xInv[i * factors + f] = 1 / oneMinusCNormSq(s, c);
      }
    }
  }
  return {
    x, n, d, k, geometry, median: centroid === 'median', c, factors, fd, xInv,
    tol: nonNegative(o.tol ?? 1e-6, 'tol'),
    maxIter: positiveInt(o.maxIter ?? 300, 'maxIter'),
    frechetTol: nonNegative(o.frechetTol ?? 1e-9, 'frechetTol'),
    frechetMaxIter: positiveInt(o.frechetMaxIter ?? 100, 'frechetMaxIter'),
    frechetSteps: o.frechetSteps === 0 ? 0 : positiveInt(o.frechetSteps ?? 3, 'frechetSteps'),
  };
}

/** 1/(1 − c‖μ_{j,f}‖²) for every centre factor (Poincaré). */
function centreInv(p: Problem, cent: Float64Array, out: Float64Array): void {
  for (let j = 0; j < p.k; j++) {
    for (let f = 0; f < p.factors; f++) {
      const o = j * p.d + f * p.fd;
      let s = 0;
      for (let t = 0; t < p.fd; t++) s += cent[o + t] ** 2;
      out[j * p.factors + f] = 1 / oneMinusCNormSq(s, p.c);
    }
  }
}

/**
 * Squared geometry distance between point i and row j of `cent` (with its cached inverse factors).
 * Poincaré: Σ_f ((2/√c) asinh √u_f)²; Euclidean: ‖x − μ‖².
 */
function d2(p: Problem, i: number, cent: Float64Array, j: number, cInv: Float64Array): number {
  const { x, d, fd, factors } = p;
  const xo = i * d;
  const co = j * d;
  if (p.geometry === 'euclidean') {
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = x[xo + t] - cent[co + t];
      s += v * v;
    }
    return s;
  }
  const scale = 4 / p.c;
  let total = 0;
  for (let f = 0; f < factors; f++) {
    let s = 0;
    const off = f * fd;
    for (let t = 0; t < fd; t++) {
      const v = x[xo + off + t] - cent[co + off + t];
      s += v * v;
    }
    const u = p.c * s * p.xInv[i * factors + f] * cInv[j * factors + f];
    const dist = Math.asinh(Math.sqrt(u));
    total += scale * dist * dist;
  }
  return total;
}

/** Assigns every point to its nearest centre; fills `labels` and `best` (squared distances); returns the inertia (Σ d² or, for medians, Σ d). */
function assign(p: Problem, cent: Float64Array, cInv: Float64Array, labels: Int32Array, best: Float64Array): number {
  const { x, n, d, k } = p;
  let inertia = 0;
  if (p.geometry === 'poincare' && p.factors === 1) {
    const scale = 4 / p.c;
    for (let i = 0; i < n; i++) {
      const xo = i * d;
      let bj = 0;
      let bv = Infinity;
      let bs = 0;
      for (let j = 0; j < k; j++) {
        const co = j * d;
        let s = 0;
        for (let t = 0; t < d; t++) {
          const v = x[xo + t] - cent[co + t];
          s += v * v;
        }
        const key = s * cInv[j];
        if (key < bv) {
          bv = key;
          bj = j;
          bs = s;
        }
      }
      const dist = Math.asinh(Math.sqrt(p.c * bs * p.xInv[i] * cInv[bj]));
      const dd = scale * dist * dist;
      labels[i] = bj;
      best[i] = dd;
      inertia += p.median ? Math.sqrt(dd) : dd;
    }
    return inertia;
  }
  for (let i = 0; i < n; i++) {
    let bj = 0;
    let bv = Infinity;
    for (let j = 0; j < k; j++) {
      const v = d2(p, i, cent, j, cInv);
      if (v < bv) {
        bv = v;
        bj = j;
      }
    }
    labels[i] = bj;
    best[i] = bv;
    inertia += p.median ? Math.sqrt(bv) : bv;
  }
  return inertia;
}

/** Greedy k-means++ seeding into `cent` (k × d). */
function seedPlusPlus(p: Problem, rng: Rng, cent: Float64Array, cInv: Float64Array): void {
  const { x, n, d, k } = p;
  const closest = new Float64Array(n);
  const cand = new Float64Array(n);
  const trials = 2 + Math.floor(Math.log(k));
  const setCentre = (j: number, i: number): void => {
    for (let t = 0; t < d; t++) cent[j * d + t] = x[i * d + t];
    if (p.geometry === 'poincare') for (let f = 0; f < p.factors; f++) cInv[j * p.factors + f] = p.xInv[i * p.factors + f];
  };
  setCentre(0, rng.int(n));
  let pot = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = d2(p, i, cent, 0, cInv);
    pot += closest[i];
  }
  for (let j = 1; j < k; j++) {
    let bestPot = Infinity;
    let bestIdx = -1;
    for (let trial = 0; trial < trials; trial++) {
      let idx: number;
      if (pot > 0) {
        const r = rng.float() * pot;
        let acc = 0;
        idx = n - 1;
        for (let i = 0; i < n; i++) {
          acc += closest[i];
          if (acc > r) {
            idx = i;
            break;
          }
        }
      } else {
        idx = rng.int(n); // all points coincide with chosen centres
      }
      setCentre(j, idx);
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.min(closest[i], d2(p, i, cent, j, cInv));
      if (s < bestPot) {
        bestPot = s;
        bestIdx = idx;
      }
    }
    setCentre(j, bestIdx);
    pot = 0;
    for (let i = 0; i < n; i++) {
      const v = d2(p, i, cent, j, cInv);
      cand[i] = v < closest[i] ? v : closest[i];
      pot += cand[i];
    }
    closest.set(cand);
  }
}

/**
 * Centre update: Fréchet means or medians (warm-started at the current centres, at most `maxIter`
 * steps), arithmetic means, or Euclidean medians (Weiszfeld, warm-started likewise).
 */
function update(p: Problem, labels: Int32Array, cent: Float64Array, counts: Int32Array, factorBuf: Float64Array, maxIter: number): void {
  const { x, n, d, k } = p;
  if (p.geometry === 'euclidean' && p.median) {
    weiszfeld(p, labels, cent, maxIter);
    return;
  }
  if (p.median && p.factors > 1) {
    productMedians(p, labels, cent, factorBuf, maxIter);
    return;
  }
  if (p.geometry === 'euclidean') {
    cent.fill(0);
    for (let i = 0; i < n; i++) {
      const co = labels[i] * d;
      for (let t = 0; t < d; t++) cent[co + t] += x[i * d + t];
    }
    for (let j = 0; j < k; j++) for (let t = 0; t < d; t++) cent[j * d + t] /= counts[j];
    return;
  }
  frechetFactors(p, labels, cent, factorBuf, p.frechetTol, maxIter, undefined, p.median);
}

/** Fréchet means (or medians, or weighted means) of every cluster in every ball factor, warm-started at `cent`. */
function frechetFactors(p: Problem, labels: Int32Array, cent: Float64Array, factorBuf: Float64Array, tol: number, maxIter: number, weights: Float64Array | undefined, median: boolean): void {
  const { x, d, k, fd } = p;
  for (let f = 0; f < p.factors; f++) {
    for (let j = 0; j < k; j++) for (let t = 0; t < fd; t++) factorBuf[j * fd + t] = cent[j * d + f * fd + t];
    frechetMeansByLabel({ x, stride: d, offset: f * fd, dim: fd }, labels, k, factorBuf, p.c, tol, maxIter, weights, median);
    for (let j = 0; j < k; j++) for (let t = 0; t < fd; t++) cent[j * d + f * fd + t] = factorBuf[j * fd + t];
  }
}

/**
 * Fréchet medians on a product of balls, argmin_m Σ_i D(x_i, m) with D = √(Σ_f d_f²): the median does
 * not separate by factor (each point's pull depends on its distance in every factor), but reweighting
 * does — with w_i = 1/D(x_i, m) at the current estimate, Σ_i w_i Σ_f d_f² splits into one weighted
 * Fréchet mean per factor, so each step is one Lou step per factor under the shared weights
 * (Weiszfeld's scheme; for one ball it is medianWeight's step). Points on their estimate (D below 1e-12)
 * are left out of that step, taken then by Vardi and Zhang's rule (frechet.ts, vardiZhang) with the pull
 * summed over the factors: the centre stays when it is the median, else moves that fraction of the way in
 * every factor. Until no centre moves more than `frechetTol` or `maxIter` steps.
 */
function productMedians(p: Problem, labels: Int32Array, cent: Float64Array, factorBuf: Float64Array, maxIter: number): void {
  const { n, d, k, factors } = p;
  const w = new Float64Array(n);
  const prev = new Float64Array(k * d);
  const cInv = new Float64Array(k * factors);
  const prevInv = new Float64Array(k * factors);
  const eta = new Float64Array(k);
  centreInv(p, cent, cInv);
  for (let it = 0; it < maxIter; it++) {
    eta.fill(0);
    for (let i = 0; i < n; i++) {
      const dd = d2(p, i, cent, labels[i], cInv);
      if (dd < 1e-24) eta[labels[i]]++;
      w[i] = dd < 1e-24 ? 0 : 1 / Math.sqrt(dd);
    }
    prev.set(cent);
    prevInv.set(cInv);
    frechetFactors(p, labels, cent, factorBuf, 0, 1, w, false);
    if (eta.some((e) => e > 0)) productVardiZhang(p, labels, prev, cent, eta, w);
    centreInv(p, cent, cInv);
    if (maxShift(p, prev, cent, prevInv, cInv) < p.frechetTol) return;
  }
}

/** Vardi and Zhang's rule on a product of balls: one fraction 1 − η_j/r_j per centre, r_j² the sum over factors of the pull's squared norm (each point's share in factor f: d_f/D). */
function productVardiZhang(p: Problem, labels: Int32Array, prev: Float64Array, cent: Float64Array, eta: Float64Array, invD: Float64Array): void {
  const { x, d, k, fd, factors, c } = p;
  const slice = (from: Float64Array, f: number) => {
    const to = new Float64Array(k * fd);
    for (let j = 0; j < k; j++) for (let q = 0; q < fd; q++) to[j * fd + q] = from[j * d + f * fd + q];
    return to;
  };
  const ys = Array.from({ length: factors }, (_, f) => slice(prev, f));
  const r2 = new Float64Array(k);
  for (let f = 0; f < factors; f++) {
    const pull = medianPull({ x, stride: d, offset: f * fd, dim: fd }, labels, k, ys[f], c, eta, (i, df) => df * invD[i]);
    for (let j = 0; j < k; j++) for (let q = 0; q < fd; q++) r2[j] += pull[j * fd + q] ** 2;
  }
  for (let f = 0; f < factors; f++) {
    const y = ys[f];
    const t = slice(cent, f);
    for (let j = 0; j < k; j++) {
      if (!(eta[j] > 0)) continue;
      moveTowards(y, t, j * fd, fd, c, Math.max(0, 1 - eta[j] / Math.sqrt(r2[j])));
      for (let q = 0; q < fd; q++) cent[j * d + f * fd + q] = t[j * fd + q];
    }
  }
}

/**
 * One dimension: every cluster's median exactly, by sorting its values (the middle one, or the midpoint
 * of the middle two: every point between them sums the same). Weiszfeld's iteration crawls here — the
 * feature baselines' k-medians took four times as long as their k-means.
 */
function medians1d(p: Problem, labels: Int32Array, cent: Float64Array): void {
  const { x, n, k } = p;
  const counts = new Int32Array(k);
  for (let i = 0; i < n; i++) counts[labels[i]]++;
  const start = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) start[j + 1] = start[j] + counts[j];
  const sorted = new Float64Array(n);
  const fill = start.slice(0, k);
  for (let i = 0; i < n; i++) sorted[fill[labels[i]]++] = x[i];
  for (let j = 0; j < k; j++) {
    if (counts[j] === 0) continue;
    const v = sorted.subarray(start[j], start[j + 1]).sort();
    const h = v.length >> 1;
    cent[j] = v.length % 2 === 1 ? v[h] : (v[h - 1] + v[h]) / 2;
  }
}

/**
 * Euclidean medians of every cluster by Weiszfeld's iteration y⁺ = Σ (x_i/‖x_i − y‖) / Σ (1/‖x_i − y‖),
 * from the current centres, until none moves more than `frechetTol` or `maxIter` steps. Points on the
 * estimate y (η of them) are left out of that step T, which is then taken by Vardi and Zhang's rule:
 * with R = Σ (x_i − y)/‖x_i − y‖ over the others, y stays when ‖R‖ ≤ η (it is the median), else
 * y⁺ = y + (1 − η/‖R‖)(T − y).
 */
function weiszfeld(p: Problem, labels: Int32Array, cent: Float64Array, maxIter: number): void {
  const { x, n, d, k } = p;
  if (d === 1) {
    medians1d(p, labels, cent);
    return;
  }
  const num = new Float64Array(k * d);
  const den = new Float64Array(k);
  const eta = new Float64Array(k);
  for (let it = 0; it < maxIter; it++) {
    num.fill(0);
    den.fill(0);
    eta.fill(0);
    for (let i = 0; i < n; i++) {
      const co = labels[i] * d;
      let s = 0;
      for (let t = 0; t < d; t++) s += (x[i * d + t] - cent[co + t]) ** 2;
      if (s < 1e-24) {
        eta[labels[i]]++;
        continue;
      }
      const w = 1 / Math.sqrt(s);
      den[labels[i]] += w;
      for (let t = 0; t < d; t++) num[co + t] += w * x[i * d + t];
    }
    let moved = 0;
    for (let j = 0; j < k; j++) {
      if (!(den[j] > 0)) continue;
      let f = 1;
      if (eta[j] > 0) {
        let r2 = 0;
        for (let t = 0; t < d; t++) r2 += (num[j * d + t] - den[j] * cent[j * d + t]) ** 2;
        f = Math.max(0, 1 - eta[j] / Math.sqrt(r2));
      }
      let s = 0;
      for (let t = 0; t < d; t++) {
        const y = cent[j * d + t];
        const v = y + f * (num[j * d + t] / den[j] - y);
        s += (v - y) ** 2;
        cent[j * d + t] = v;
      }
      if (s > moved) moved = s;
    }
    if (Math.sqrt(moved) < p.frechetTol) return;
  }
}

/** Moves the centre of every empty cluster onto the point farthest from its own centre. */
function fixEmpty(p: Problem, labels: Int32Array, best: Float64Array, counts: Int32Array, cent: Float64Array, cInv: Float64Array): void {
  for (let j = 0; j < p.k; j++) {
    if (counts[j] > 0) continue;
    let far = -1;
    let fv = -1;
    for (let i = 0; i < p.n; i++) {
      if (counts[labels[i]] > 1 && best[i] > fv) {
        fv = best[i];
        far = i;
      }
    }
    if (far < 0) continue; // every cluster has one point: nothing to move
    counts[labels[far]]--;
    labels[far] = j;
    counts[j] = 1;
    best[far] = 0;
    for (let t = 0; t < p.d; t++) cent[j * p.d + t] = p.x[far * p.d + t];
    if (p.geometry === 'poincare') for (let f = 0; f < p.factors; f++) cInv[j * p.factors + f] = p.xInv[far * p.factors + f];
  }
}

/** Largest move of a centre between `a` and `b`, in the geometry's distance. */
function maxShift(p: Problem, a: Float64Array, b: Float64Array, aInv: Float64Array, bInv: Float64Array): number {
  let m = 0;
  for (let j = 0; j < p.k; j++) {
    let total = 0;
    for (let f = 0; f < p.factors; f++) {
      let s = 0;
      const o = j * p.d + f * p.fd;
      for (let t = 0; t < p.fd; t++) s += (a[o + t] - b[o + t]) ** 2;
      if (p.geometry === 'euclidean') total += s;
      else {
        const dist = (2 / Math.sqrt(p.c)) * Math.asinh(Math.sqrt(p.c * s * aInv[j * p.factors + f] * bInv[j * p.factors + f]));
        total += dist * dist;
      }
    }
    m = Math.max(m, Math.sqrt(total));
  }
  return m;
}

interface RunResult {
  labels: Int32Array;
  cent: Float64Array;
  inertia: number;
  iterations: number;
  converged: boolean;
  counts: Int32Array;
}

/** One Lloyd run from the given initial centres (exported for the benchmark and tests). */
export function lloyd(p: Problem, cent: Float64Array): RunResult {
  const { n, k, d, factors } = p;
  const labels = new Int32Array(n);
  const best = new Float64Array(n);
  const counts = new Int32Array(k);
  const cInv = new Float64Array(k * factors);
  const prevInv = new Float64Array(k * factors);
  const prev = new Float64Array(k * d);
  const factorBuf = new Float64Array(k * p.fd);
  let converged = false;
  let it = 0;
  // inexact steps (p.frechetSteps Fréchet iterations) while the centres move; a full one to finish
  const exact = p.frechetSteps === 0 || p.frechetSteps >= p.frechetMaxIter;
  let full = exact;
  centreInv(p, cent, cInv);
  let inertia = assign(p, cent, cInv, labels, best);
  while (it < p.maxIter) {
    it++;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[labels[i]]++;
    fixEmpty(p, labels, best, counts, cent, cInv);
    prev.set(cent);
    prevInv.set(cInv);
    update(p, labels, cent, counts, factorBuf, full ? p.frechetMaxIter : p.frechetSteps);
    centreInv(p, cent, cInv);
    const shift = maxShift(p, prev, cent, prevInv, cInv);
    inertia = assign(p, cent, cInv, labels, best);
    if (shift <= p.tol) {
      if (full || (p.geometry === 'euclidean' && !p.median)) {
        converged = true;
        break;
      }
      full = true; // the next update finishes the means before convergence is declared
    } else full = exact;
  }
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[labels[i]]++;
  return { labels, cent, inertia, iterations: it, converged, counts };
}

/** Validated problem for `lloyd` and `seedCentres` (used by the benchmark to time single iterations). */
export function prepareKMeans(x: FloatArray, d: number, options: KMeansOptions): Problem {
  return setup(x, d, options);
}

/** k-means++ centres for restart `run` of `seed` (what `kmeans` starts restart `run` from). */
export function seedCentres(p: Problem, seed: number, run: number): Float64Array {
  const cent = new Float64Array(p.k * p.d);
  seedPlusPlus(p, new Rng(seed, run), cent, new Float64Array(p.k * p.factors));
  return cent;
}

/**
 * k-means with `nInit` seeded k-means++ restarts; returns the restart with the lowest inertia.
 * Deterministic for a given seed. Throws HypersegError on bad input (N = 0, k < 1, k > N, non-finite
 * values, points outside the ball for the Poincaré geometry, bad options).
 */
export function kmeans(x: FloatArray, d: number, options: KMeansOptions): KMeansResult {
  const p = setup(x, d, options);
  const seed = options.seed ?? 0;
  const nInit = options.nInit ?? 10;
  let best: RunResult | null = null;
  let bestInit = 0;
  const inertias: number[] = [];
  for (let r = 0; r < nInit; r++) {
    const res = lloyd(p, seedCentres(p, seed, r));
    inertias.push(res.inertia);
    if (best === null || res.inertia < best.inertia) {
      best = res;
      bestInit = r;
    }
  }
  const b = best as RunResult;
  return {
    labels: b.labels,
    centroids: b.cent,
    k: p.k,
    d,
    geometry: p.geometry,
    inertia: b.inertia,
    iterations: b.iterations,
    converged: b.converged,
    bestInit,
    inertias,
    counts: Array.from(b.counts),
  };
}

/** Inertia of given labels and centres under a geometry (an independent check for callers and tests). */
export function inertiaOf(x: FloatArray, d: number, labels: Int32Array, centroids: Float64Array, options: KMeansOptions): number {
  const p = setup(x, d, { ...options, k: centroids.length / d });
  const cInv = new Float64Array(p.k * p.factors);
  if (p.geometry === 'poincare') centreInv(p, centroids, cInv);
  let s = 0;
  for (let i = 0; i < p.n; i++) {
    const v = d2(p, i, centroids, labels[i], cInv);
    s += p.median ? Math.sqrt(v) : v;
  }
  return s;
}

export type { Problem as KMeansProblem };

/**
 * Labels every point with its nearest centre (the geometry's distance): how a fit on a subsample
 * labels a whole volume. Returns the labels and the inertia over all points.
 */
export function assignToCentroids(x: FloatArray, d: number, centroids: Float64Array, options: KMeansOptions): { labels: Int32Array; inertia: number; counts: number[] } {
  const p = setup(x, d, { ...options, k: centroids.length / d });
  const cInv = new Float64Array(p.k * p.factors);
  if (p.geometry === 'poincare') centreInv(p, centroids, cInv);
  const labels = new Int32Array(p.n);
  const inertia = assign(p, centroids, cInv, labels, new Float64Array(p.n));
  const counts = new Array<number>(p.k).fill(0);
  for (let i = 0; i < p.n; i++) counts[labels[i]]++;
  return { labels, inertia, counts };
}
