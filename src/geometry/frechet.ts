/**
 * Weighted Fréchet mean on the Poincaré ball of curvature −c:
 *   μ = argmin_y Σ_l w_l d(x_l, y)².
 *
 * Fixed-point iteration of Lou, Katsman, Jiang, Belongie, Lim, De Sa, "Differentiating through the
 * Fréchet Mean", ICML 2020 (Algorithm 1, Poincaré model), written for curvature −c by working in the
 * rescaled coordinates X = √c·x of the unit ball:
 *   u_l   = c‖x_l − y‖² / ((1 − c‖x_l‖²)(1 − c‖y‖²))
 *   α_l   = w_l · g(u_l) / (1 − c‖x_l‖²),        g(u) = 2 arcosh(1 + 2u) / √(u² + u)
 *   a = Σ α_l,  b = Σ α_l x_l,  C = c Σ α_l ‖x_l‖²
 *   y⁺    = 2b / ((a + C) + √((a + C)² − 4c‖b‖²))
 * The last line is Lou et al.'s ((a+C) − √(…))/(2c‖b‖²)·b multiplied through by its conjugate, so it
 * has no 0/0 when the mean is at the origin (b = 0).
 * g is evaluated as 4·asinh(√u)/(√u·√(1 + u)), whose limit at u → 0 is 4: a point that coincides with
 * the current estimate gets weight 4·w_l/(1 − c‖x_l‖²), not an exploding clamp (the flaw of the
 * published clustering code this replaces).
 *
 * The kernel computes the means of all k groups of a labelled set in one pass per iteration, over
 * one ball factor of a product manifold (row stride and factor offset), allocating only O(k·d).
 */

import { HypersegError } from '../errors.js';
import { checkCurvature, distAt, mobiusAddAt, mobiusScalarMulAt, type FloatArray, type Vec } from './poincare.js';
import { MIN_DENOM, asinhOverX, maxNorm, oneMinusCNormSq, safeArtanh } from './stability.js';

/**
 * The Fréchet *median* (argmin_y Σ w_l d(x_l, y), distances not squared) by the same kernel: each
 * iteration is Lou et al.'s step for the weights w_l / d(x_l, y) at the current estimate (iteratively
 * reweighted, as Weiszfeld's algorithm is in Euclidean space), whose fixed points satisfy the median's
 * first-order condition Σ w_l log_y(x_l)/‖log_y(x_l)‖_y = 0. With d = (2/√c) asinh √u the product of that
 * weight and g(u) is 2√c/√(u(1 + u)). Points that coincide with the estimate (u below 1e-24; weight η in
 * all) have no direction and are left out of that step, which is then taken by Vardi and Zhang's rule
 * (PNAS 97, 2000; see vardiZhang): the estimate stays where it is when it is the median, and moves
 * only part of the way otherwise. Without it an estimate that lands on a heavy point (many voxels with
 * one embedding: a constant background) is thrown off it and returns only approximately.
 */
function medianWeight(u: number, c: number): number {
  return u < COINCIDENT ? 0 : (2 * Math.sqrt(c)) / Math.sqrt(u * (1 + u));
}

/** A point whose u = c‖x − y‖²/((1 − c‖x‖²)(1 − c‖y‖²)) is below this coincides with the estimate y. */
const COINCIDENT = 1e-24;

/**
 * Vardi and Zhang's modification of a Weiszfeld step ("The multivariate L1-median and associated data
 * depth", PNAS 97, 2000), on one ball, for every group j with η_j > 0 (the weight of its points that
 * coincide with its estimate y_j, left out of the step that gave T_j): with r_j the norm of the pull of
 * the group's other points (medianPull; for a Fréchet median s_i is the point's weight), y_j is the median
 * and stays when r_j ≤ η_j (the coincident mass outweighs the rest); otherwise it moves along the
 * geodesic towards T_j by the fraction 1 − η_j/r_j (moveTowards). `prev` holds the estimates y, `next`
 * the steps T on entry and the results on exit.
 */
export function vardiZhang(
  view: FactorView, labels: Int32Array, k: number, prev: Float64Array, next: Float64Array, c: number,
  eta: Float64Array, scale: (i: number, d: number) => number,
): void {
  if (!eta.some((e) => e > 0)) return;
  const { dim } = view;
  const pull = medianPull(view, labels, k, prev, c, eta, scale);
  for (let j = 0; j < k; j++) {
    if (!(eta[j] > 0)) continue;
    let r2 = 0;
    for (let t = 0; t < dim; t++) r2 += pull[j * dim + t] ** 2;
    moveTowards(prev, next, j * dim, dim, c, Math.max(0, 1 - eta[j] / Math.sqrt(r2)));
  }
}

/**
 * The pull on each group j with η_j > 0 of its points that do not coincide with its estimate y_j:
 * Σ_i s_i · e_i, e_i the unit vector of (−y_j) ⊕ x_i (the direction of log_{y_j}(x_i)) and
 * s_i = scale(i, d(x_i, y_j)). Its Euclidean norm is the Riemannian norm at y_j of Σ_i s_i · log_{y_j}(x_i)/d_i
 * (the λ of the tangent vector and of the norm cancel), the gradient of Σ_i s_i d(x_i, ·) without the
 * coincident points. Returns k × dim values (zero rows for the other groups).
 */
export function medianPull(
  view: FactorView, labels: Int32Array, k: number, prev: Float64Array, c: number,
  eta: Float64Array, scale: (i: number, d: number) => number,
): Float64Array {
  const { x, stride, offset, dim } = view;
  const pull = new Float64Array(k * dim);
  const yInv = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let t = 0; t < dim; t++) s += prev[j * dim + t] ** 2;
    yInv[j] = 1 / oneMinusCNormSq(s, c);
  }
  const w = new Float64Array(dim);
  const sc = Math.sqrt(c);
  for (let i = 0; i < labels.length; i++) {
    const j = labels[i];
    if (!(eta[j] > 0)) continue;
    const xo = i * stride + offset;
    let x2 = 0;
    let diff2 = 0;
    for (let t = 0; t < dim; t++) {
      x2 += x[xo + t] ** 2;
      diff2 += (x[xo + t] - prev[j * dim + t]) ** 2;
    }
    if ((c * diff2 * yInv[j]) / oneMinusCNormSq(x2, c) < COINCIDENT) continue;
    mobiusAddAt(prev, j * dim, x, xo, dim, c, w, 0, null, -1);
    let n2 = 0;
    for (let t = 0; t < dim; t++) n2 += w[t] * w[t];
    const n = Math.sqrt(n2);
    if (!(n > 0)) continue;
    const f = scale(i, (2 / sc) * safeArtanh(sc * n)) / n;
    for (let t = 0; t < dim; t++) pull[j * dim + t] += f * w[t];
  }
  return pull;
}

/** next[o..] ← y ⊕ (f ⊗ ((−y) ⊕ T)) with y = prev[o..], T = next[o..]: the point a fraction f ∈ [0, 1] of the way from y to T. */
export function moveTowards(prev: Float64Array, next: Float64Array, o: number, dim: number, c: number, f: number): void {
  if (f <= 0) {
    for (let t = 0; t < dim; t++) next[o + t] = prev[o + t];
    return;
  }
  if (f >= 1) return;
  const w = new Float64Array(dim);
  const step = new Float64Array(dim);
  mobiusAddAt(prev, o, next, o, dim, c, w, 0, null, -1);
  mobiusScalarMulAt(f, w, 0, dim, c, step, 0, 'float64');
  mobiusAddAt(prev, o, step, 0, dim, c, next, o, 'float64');
}

/** Fréchet weight g(u) = 2 arcosh(1 + 2u)/√(u² + u), with g(0) = 4 (its limit). */
export function frechetWeight(u: number): number {
  return (4 * asinhOverX(Math.sqrt(u))) / Math.sqrt(1 + u);
}

export interface FrechetOptions {
  /** Curvature magnitude c > 0 (default 1). */
  c?: number;
  /** Non-negative weights, one per point (default: all 1). */
  weights?: Vec;
  /** Stop when every mean moves less than `tol` (Poincaré distance) in one iteration (default 1e-12). */
  tol?: number;
  /** Iteration cap (default 1000). */
  maxIter?: number;
  /** Starting point (default: the first point, as in Lou et al.). */
  init?: Vec;
}

export interface FrechetResult {
  mean: Float64Array;
  iterations: number;
  converged: boolean;
}

/** Layout of the points handed to `frechetMeansByLabel`. */
export interface FactorView {
  /** Flat point array; point i's factor starts at i·stride + offset. */
  x: FloatArray;
  /** Values per point row (the full product-manifold dimension). */
  stride: number;
  /** Offset of this factor inside a row. */
  offset: number;
  /** Dimension of this ball factor. */
  dim: number;
}

/**
 * Means of every labelled group at once, iterated until all move less than `tol`.
 * `means` (k × dim, row j = group j) holds the starting points on entry and the means on exit; a
 * group with no points (or zero total weight) keeps its starting point. Returns the iterations run
 * and whether the tolerance was met. `median`: Fréchet medians instead (see medianWeight).
 */
export function frechetMeansByLabel(
  view: FactorView,
  labels: Int32Array,
  k: number,
  means: Float64Array,
  c: number,
  tol: number,
  maxIter: number,
  weights?: Vec,
  median = false,
): { iterations: number; converged: boolean } {
  const { x, stride, offset, dim } = view;
  const n = labels.length;
  const aS = new Float64Array(k);
  const cS = new Float64Array(k);
  const bS = new Float64Array(k * dim);
  const yInv = new Float64Array(k); // 1/(1 − c‖y_j‖²)
  const prev = new Float64Array(k * dim);
  const rmax = maxNorm(c, 'float64');
  const eta = median ? new Float64Array(k) : null;
  for (let it = 1; it <= maxIter; it++) {
    aS.fill(0);
    cS.fill(0);
    bS.fill(0);
    eta?.fill(0);
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += means[j * dim + t] ** 2;
      yInv[j] = 1 / oneMinusCNormSq(s, c);
    }
    for (let i = 0; i < n; i++) {
      const j = labels[i];
      const w = weights === undefined ? 1 : weights[i];
      if (w === 0) continue;
      const xo = i * stride + offset;
      const yo = j * dim;
      let x2 = 0;
      let diff2 = 0;
      for (let t = 0; t < dim; t++) {
        const xv = x[xo + t];
        const dv = xv - means[yo + t];
        x2 += xv * xv;
        diff2 += dv * dv;
      }
      const xInv = 1 / oneMinusCNormSq(x2, c);
      const u = c * diff2 * xInv * yInv[j];
      if (eta && u < COINCIDENT) eta[j] += w;
      const alpha = w * (median ? medianWeight(u, c) : frechetWeight(u)) * xInv;
      aS[j] += alpha;
      cS[j] += alpha * x2;
      for (let t = 0; t < dim; t++) bS[yo + t] += alpha * x[xo + t];
    }
    prev.set(means);
    let moved = 0;
    for (let j = 0; j < k; j++) {
      if (!(aS[j] > 0)) continue;
      const yo = j * dim;
      let b2 = 0;
      for (let t = 0; t < dim; t++) b2 += bS[yo + t] ** 2;
      const ac = aS[j] + c * cS[j];
      const disc = Math.max(ac * ac - 4 * c * b2, 0);
      const f = 2 / Math.max(ac + Math.sqrt(disc), MIN_DENOM);
      let y2 = 0;
      for (let t = 0; t < dim; t++) {
        const v = f * bS[yo + t];
        means[yo + t] = v;
        y2 += v * v;
      }
      if (y2 > rmax * rmax) {
        const s = rmax / Math.sqrt(y2);
        for (let t = 0; t < dim; t++) means[yo + t] *= s;
      }
    }
    if (eta) vardiZhang(view, labels, k, prev, means, c, eta, (i) => (weights === undefined ? 1 : weights[i]));
    for (let j = 0; j < k; j++) {
      const m = distAt(means, j * dim, prev, j * dim, dim, c);
      if (m > moved) moved = m;
    }
    if (moved < tol) return { iterations: it, converged: true };
  }
  return { iterations: maxIter, converged: false };
}

/**
 * Weighted Fréchet mean of the N points of an N × d array (see the module header).
 * Throws on N = 0, on negative or all-zero weights, and on non-finite input.
 */
export function frechetMean(x: FloatArray, d: number, options: FrechetOptions = {}): FrechetResult {
  const c = options.c ?? 1;
  checkCurvature(c);
  if (!Number.isInteger(d) || d < 1) throw new HypersegError('INVALID_ARGUMENT', `dimension d must be a positive integer, got ${d}`);
  if (x.length === 0 || x.length % d !== 0) {
    throw new HypersegError('SHAPE_MISMATCH', `points must be a non-empty N × ${d} array, got ${x.length} values`);
  }
  const n = x.length / d;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new HypersegError('NON_FINITE', `point ${Math.floor(i / d)} has a non-finite coordinate (${x[i]})`);
  }
  const w = options.weights;
  if (w !== undefined) {
    if (w.length !== n) throw new HypersegError('SHAPE_MISMATCH', `expected ${n} weights, got ${w.length}`);
    let total = 0;
    for (let i = 0; i < n; i++) {
      if (!(w[i] >= 0) || !Number.isFinite(w[i])) throw new HypersegError('INVALID_ARGUMENT', `weights must be finite and ≥ 0, got ${w[i]} at ${i}`);
      total += w[i];
    }
    if (!(total > 0)) throw new HypersegError('INVALID_ARGUMENT', 'weights must not all be zero');
  }
  const mean = new Float64Array(d);
  if (options.init !== undefined) {
    if (options.init.length !== d) throw new HypersegError('SHAPE_MISMATCH', `init must have ${d} values, got ${options.init.length}`);
    mean.set(Array.from(options.init));
  } else {
    for (let t = 0; t < d; t++) mean[t] = x[t];
  }
  const r = frechetMeansByLabel(
    { x, stride: d, offset: 0, dim: d }, new Int32Array(n), 1, mean, c, options.tol ?? 1e-12, options.maxIter ?? 1000, w,
  );
  return { mean, iterations: r.iterations, converged: r.converged };
}
