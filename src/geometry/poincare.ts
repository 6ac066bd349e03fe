/**
 * Poincaré-ball geometry of curvature −c (c > 0, radius 1/√c), scalar and batched.
 *
 * Every operation is written once, as a row kernel `fooAt(...)` that reads rows of flat arrays at
 * given offsets and writes its result at an offset (no allocation). The scalar forms (`foo`) call
 * the kernel on one vector; the batched forms (`fooBatch`) loop the kernel over the N rows of an
 * N × d array (Float32Array or Float64Array). Arithmetic is float64 throughout.
 *
 * Outputs that are points (Möbius addition, scalar multiplication, exp maps) are projected into
 * the ball with the margin BALL_EPS of their storage dtype, as geoopt does by default.
 *
 * References: Ganea, Bécigneul, Hofmann, "Hyperbolic Neural Networks", NeurIPS 2018 (Möbius
 * operations, exp/log maps, gyroplanes); Ungar, "A Gyrovector Space Approach to Hyperbolic
 * Geometry", 2008 (gyration, transport); Hsu et al., NeurIPS 2021, Eq. 1–3, 5–6.
 */

import { HypersegError } from '../errors.js';
import {
  type Dtype,
  MIN_NORM,
  MIN_DENOM,
  artanhOverX,
  maxNorm,
  oneMinusCNormSq,
  safeArtanh,
  tanhOverX,
} from './stability.js';

/** A read-only vector: number[] or a typed array. */
export type Vec = ArrayLike<number>;
/** A flat N × d array of points or tangent vectors. */
export type FloatArray = Float32Array | Float64Array;

/** Throws unless c is a finite positive curvature magnitude. */
export function checkCurvature(c: number): void {
  if (!(c > 0) || !Number.isFinite(c)) {
    throw new HypersegError('INVALID_ARGUMENT', `curvature c must be a finite number > 0 (the ball has curvature −c), got ${c}`);
  }
}

function dtypeOf(a: FloatArray): Dtype {
  return a instanceof Float32Array ? 'float32' : 'float64';
}

function dotAt(x: Vec, xo: number, y: Vec, yo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += x[xo + j] * y[yo + j];
  return s;
}

/** Scales row `o` of `out` (norm² `nsq`) back inside radius `rmax` if it lies beyond it. */
function clampRow(out: FloatArray, o: number, d: number, nsq: number, rmax: number): void {
  if (nsq > rmax * rmax) {
    const f = rmax / Math.sqrt(nsq);
    for (let j = 0; j < d; j++) out[o + j] *= f;
  }
}

// ---------------------------------------------------------------------------------------------
// Row kernels
// ---------------------------------------------------------------------------------------------

/**
 * Projection into the ball: x ↦ x · min(1, r_max/‖x‖), r_max = (1 − BALL_EPS[dtype])/√c.
 */
export function projectAt(x: Vec, xo: number, d: number, c: number, out: FloatArray, oo: number, dtype: Dtype): void {
  const nsq = dotAt(x, xo, x, xo, d);
  for (let j = 0; j < d; j++) out[oo + j] = x[xo + j];
  clampRow(out, oo, d, nsq, maxNorm(c, dtype));
}

/**
 * Möbius addition:
 *   x ⊕ y = ((1 + 2c⟨x,y⟩ + c‖y‖²) x + (1 − c‖x‖²) y) / (1 + 2c⟨x,y⟩ + c²‖x‖²‖y‖²)
 * Identity (tested): (−x) ⊕ (x ⊕ y) = y.   Ref: Ganea et al. 2018.
 * Evaluated in the equivalent form, with s = x + y,
 *   x ⊕ y = ((1 − c‖x‖²) s + c‖s‖² x) / ((1 − c‖x‖²)(1 − c‖y‖²) + c‖s‖²),
 * whose terms are all non-negative in the denominator: for −x ⊕ y with y ≈ x (log maps, gyroplanes,
 * distances of nearby points) s = y − x is formed directly and nothing cancels, even near the
 * boundary where the textbook numerator and denominator both vanish.
 * Stability: denominator floored at MIN_DENOM; result projected with the margin of `dtype` (null:
 * not projected, for intermediate values such as the −x ⊕ y inside log maps and gyroplanes).
 * `sx` = ±1 negates x on the fly (−x ⊕ y without a temporary).
 */
export function mobiusAddAt(
  x: Vec, xo: number, y: Vec, yo: number, d: number, c: number, out: FloatArray, oo: number, dtype: Dtype | null, sx = 1,
): void {
  let x2 = 0;
  let y2 = 0;
  let s2 = 0;
  for (let j = 0; j < d; j++) {
    const a = x[xo + j];
    const b = y[yo + j];
    const t = sx * a + b;
    x2 += a * a;
    y2 += b * b;
    s2 += t * t;
  }
  const ox = oneMinusCNormSq(x2, c);
  const den = Math.max(ox * oneMinusCNormSq(y2, c) + c * s2, MIN_DENOM);
  const fs = ox / den;
  const fx = (sx * c * s2) / den;
  let nsq = 0;
  for (let j = 0; j < d; j++) {
    const a = x[xo + j];
    const v = fs * (sx * a + y[yo + j]) + fx * a;
    out[oo + j] = v;
    nsq += v * v;
  }
  if (dtype !== null) clampRow(out, oo, d, nsq, maxNorm(c, dtype));
}

/**
 * Möbius scalar multiplication: r ⊗ x = (1/√c) tanh(r · artanh(√c‖x‖)) x/‖x‖, and r ⊗ 0 = 0.
 * Identities (tested): 1 ⊗ x = x, (r + s) ⊗ x = (r ⊗ x) ⊕ (s ⊗ x).
 */
export function mobiusScalarMulAt(r: number, x: Vec, xo: number, d: number, c: number, out: FloatArray, oo: number, dtype: Dtype): void {
  const sc = Math.sqrt(c);
  const n = Math.sqrt(dotAt(x, xo, x, xo, d));
  // tanh(r·artanh(s))/s with s = √c‖x‖, written through the stable ratios: r·artanhOverX(s)·tanhOverX(t).
  const t = r * safeArtanh(sc * n);
  const f = r * artanhOverX(sc * n) * tanhOverX(Math.abs(t));
  let nsq = 0;
  for (let j = 0; j < d; j++) {
    const v = f * x[xo + j];
    out[oo + j] = v;
    nsq += v * v;
  }
  clampRow(out, oo, d, nsq, maxNorm(c, dtype));
}

/**
 * Exponential map at the origin: exp₀(v) = tanh(√c‖v‖) v/(√c‖v‖). exp₀(0) = 0.
 */
export function expmap0At(v: Vec, vo: number, d: number, c: number, out: FloatArray, oo: number, dtype: Dtype): void {
  const s = Math.sqrt(c * dotAt(v, vo, v, vo, d));
  const f = tanhOverX(s);
  let nsq = 0;
  for (let j = 0; j < d; j++) {
    const val = f * v[vo + j];
    out[oo + j] = val;
    nsq += val * val;
  }
  clampRow(out, oo, d, nsq, maxNorm(c, dtype));
}

/**
 * Logarithmic map at the origin: log₀(y) = artanh(√c‖y‖) y/(√c‖y‖). log₀(0) = 0.
 * Stability: artanh argument clamped below 1 (points on the boundary give a finite vector).
 */
export function logmap0At(y: Vec, yo: number, d: number, c: number, out: FloatArray, oo: number): void {
  const s = Math.sqrt(c * dotAt(y, yo, y, yo, d));
  const f = artanhOverX(s);
  for (let j = 0; j < d; j++) out[oo + j] = f * y[yo + j];
}

/**
 * Exponential map at x (Ganea et al. 2018, Lemma 2):
 *   exp_x(v) = x ⊕ ( tanh(√c λ_x ‖v‖ / 2) v/(√c‖v‖) ),   λ_x = 2/(1 − c‖x‖²).
 * `tmp` is a scratch row of length ≥ d (the kernel allocates nothing).
 */
export function expmapAt(
  x: Vec, xo: number, v: Vec, vo: number, d: number, c: number, out: FloatArray, oo: number, dtype: Dtype, tmp: Float64Array,
): void {
  const lam = 2 / oneMinusCNormSq(dotAt(x, xo, x, xo, d), c);
  const s = Math.sqrt(c * dotAt(v, vo, v, vo, d));
  // tanh(λs/2)/s = (λ/2)·tanhOverX(λs/2)
  const f = (lam / 2) * tanhOverX((lam * s) / 2);
  for (let j = 0; j < d; j++) tmp[j] = f * v[vo + j];
  mobiusAddAt(x, xo, tmp, 0, d, c, out, oo, dtype);
}

/**
 * Logarithmic map at x (Ganea et al. 2018, Lemma 2):
 *   log_x(y) = (2/(√c λ_x)) artanh(√c‖−x ⊕ y‖) (−x ⊕ y)/‖−x ⊕ y‖.
 * Since λ_x‖log_x(y)‖ = d(x, y), it is evaluated as (d(x, y)/λ_x) (−x ⊕ y)/‖−x ⊕ y‖ with the
 * cancellation-free distance of distAt: artanh of a norm near 1 would lose digits near the boundary.
 * Identity (tested): exp_x(log_x(y)) = y. `tmp` is a scratch row of length ≥ d.
 */
export function logmapAt(
  x: Vec, xo: number, y: Vec, yo: number, d: number, c: number, out: FloatArray, oo: number, tmp: Float64Array,
): void {
  const lam = 2 / oneMinusCNormSq(dotAt(x, xo, x, xo, d), c);
  mobiusAddAt(x, xo, y, yo, d, c, tmp, 0, null, -1);
  const zn = Math.sqrt(dotAt(tmp, 0, tmp, 0, d));
  const f = zn > MIN_NORM ? distAt(x, xo, y, yo, d, c) / (lam * zn) : 0;
  for (let j = 0; j < d; j++) out[oo + j] = f * tmp[j];
}

/**
 * Poincaré distance (Hsu et al. Eq. 1, Ganea et al. Eq. 5), written in its cancellation-free form:
 *   d(x, y) = (2/√c) artanh(√c‖−x ⊕ y‖) = (1/√c) arcosh(1 + 2u) = (2/√c) asinh(√u),
 *   u = c‖x − y‖² / ((1 − c‖x‖²)(1 − c‖y‖²)).
 * The asinh form is accurate for nearly equal points (no arcosh(1 + tiny)) and, with the
 * factored 1 − c‖x‖², near the boundary. Identity (tested): d(0, x) = (2/√c) artanh(√c‖x‖).
 */
export function distAt(x: Vec, xo: number, y: Vec, yo: number, d: number, c: number): number {
  let diff2 = 0;
  let x2 = 0;
  let y2 = 0;
  for (let j = 0; j < d; j++) {
    const a = x[xo + j];
    const b = y[yo + j];
    const t = a - b;
    diff2 += t * t;
    x2 += a * a;
    y2 += b * b;
  }
  const u = (c * diff2) / (oneMinusCNormSq(x2, c) * oneMinusCNormSq(y2, c));
  return (2 / Math.sqrt(c)) * Math.asinh(Math.sqrt(u));
}

/**
 * Gyration gyr[u, v]w = ⊖(u ⊕ v) ⊕ (u ⊕ (v ⊕ w)), in closed form (linear in w):
 *   gyr[u, v]w = w + 2(A u + B v)/D,
 *   A = −c²⟨u,w⟩‖v‖² + c⟨v,w⟩ + 2c²⟨u,v⟩⟨v,w⟩,   B = −c²⟨v,w⟩‖u‖² − c⟨u,w⟩,
 *   D = 1 + 2c⟨u,v⟩ + c²‖u‖²‖v‖².
 * `su`, `sv` = ±1 negate u or v on the fly. Stability: D floored at MIN_DENOM.
 */
export function gyrationAt(
  u: Vec, uo: number, v: Vec, vo: number, w: Vec, wo: number, d: number, c: number, out: FloatArray, oo: number, su = 1, sv = 1,
): void {
  const u2 = dotAt(u, uo, u, uo, d);
  const v2 = dotAt(v, vo, v, vo, d);
  const uv = su * sv * dotAt(u, uo, v, vo, d);
  const uw = su * dotAt(u, uo, w, wo, d);
  const vw = sv * dotAt(v, vo, w, wo, d);
  const c2 = c * c;
  const A = -c2 * uw * v2 + c * vw + 2 * c2 * uv * vw;
  const B = -c2 * vw * u2 - c * uw;
  const D = Math.max(1 + 2 * c * uv + c2 * u2 * v2, MIN_DENOM);
  const fa = (2 * A * su) / D;
  const fb = (2 * B * sv) / D;
  for (let j = 0; j < d; j++) out[oo + j] = w[wo + j] + fa * u[uo + j] + fb * v[vo + j];
}

/**
 * Parallel transport of a tangent vector v from T_x to T_y along the geodesic:
 *   P_{x→y}(v) = (λ_x/λ_y) gyr[y, −x] v = ((1 − c‖y‖²)/(1 − c‖x‖²)) gyr[y, −x] v.
 * Identity (tested): λ_y‖P_{x→y}(v)‖ = λ_x‖v‖ (the Riemannian norm is preserved).
 */
export function transportAt(
  x: Vec, xo: number, y: Vec, yo: number, v: Vec, vo: number, d: number, c: number, out: FloatArray, oo: number,
): void {
  const ratio = oneMinusCNormSq(dotAt(y, yo, y, yo, d), c) / oneMinusCNormSq(dotAt(x, xo, x, xo, d), c);
  gyrationAt(y, yo, x, xo, v, vo, d, c, out, oo, 1, -1);
  for (let j = 0; j < d; j++) out[oo + j] *= ratio;
}

/**
 * Gyroplane value (Hsu et al. Eq. 5–6; Ganea et al. 2018, Theorem 5) for the hyperplane
 * H_{a,p} = { x : ⟨−p ⊕ x, a⟩ = 0 } through p with normal a ∈ T_p:
 *   distance  d(x, H) = (1/√c) asinh( 2√c |⟨z, a⟩| / ((1 − c‖z‖²)‖a‖) ),   z = −p ⊕ x,
 *   signed    f(x)    = sgn(⟨log_p(x), a⟩) · ‖a‖_p · d(x, H),   ‖a‖_p = λ_p‖a‖.
 * sgn⟨log_p(x), a⟩ = sgn⟨z, a⟩ because log_p(x) is a positive multiple of z.
 * 1 − c‖z‖² is computed as (1 − c‖p‖²)(1 − c‖x‖²)/D_M, D_M = (1 − c‖p‖²)(1 − c‖x‖²) + c‖x − p‖² the
 * Möbius denominator (an exact identity), which stays accurate when x or p is near the boundary. For a = 0 the plane is undefined: distance 0.
 * Returns the signed value when `signed`, else the distance. `tmp` is a scratch row of length ≥ d.
 */
export function gyroplaneAt(
  x: Vec, xo: number, a: Vec, ao: number, p: Vec, po: number, d: number, c: number, signed: boolean, tmp: Float64Array,
): number {
  const x2 = dotAt(x, xo, x, xo, d);
  const p2 = dotAt(p, po, p, po, d);
  let s2 = 0;
  for (let j = 0; j < d; j++) s2 += (x[xo + j] - p[po + j]) ** 2;
  const op = oneMinusCNormSq(p2, c);
  const ox = oneMinusCNormSq(x2, c);
  const oneMinusZ2 = (op * ox) / (op * ox + c * s2);
  mobiusAddAt(p, po, x, xo, d, c, tmp, 0, null, -1);
  const za = dotAt(tmp, 0, a, ao, d);
  const an = Math.sqrt(dotAt(a, ao, a, ao, d));
  const sc = Math.sqrt(c);
  const dist = Math.asinh((2 * sc * Math.abs(za)) / (Math.max(oneMinusZ2, MIN_DENOM) * Math.max(an, MIN_NORM))) / sc;
  if (!signed) return dist;
  const lamP = 2 / op;
  return Math.sign(za) * lamP * an * dist;
}

// ---------------------------------------------------------------------------------------------
// Scalar forms (one vector each; allocate their result)
// ---------------------------------------------------------------------------------------------

function dimOf(...vs: Vec[]): number {
  const d = vs[0].length;
  for (const v of vs) {
    if (v.length !== d) throw new HypersegError('SHAPE_MISMATCH', `vectors must have the same dimension, got ${vs.map((w) => w.length).join(' and ')}`);
  }
  return d;
}

/** ⟨x, y⟩ (Euclidean inner product). */
export function dot(x: Vec, y: Vec): number {
  return dotAt(x, 0, y, 0, dimOf(x, y));
}

/** Conformal factor λ_x = 2/(1 − c‖x‖²) (floored denominator: finite at the boundary). */
export function lambda(x: Vec, c = 1): number {
  checkCurvature(c);
  return 2 / oneMinusCNormSq(dot(x, x), c);
}

/** Projection into the ball (see projectAt). */
export function project(x: Vec, c = 1, dtype: Dtype = 'float64'): Float64Array {
  checkCurvature(c);
  const out = new Float64Array(x.length);
  projectAt(x, 0, x.length, c, out, 0, dtype);
  return out;
}

/** Möbius addition x ⊕ y (see mobiusAddAt). */
export function mobiusAdd(x: Vec, y: Vec, c = 1): Float64Array {
  checkCurvature(c);
  const out = new Float64Array(dimOf(x, y));
  mobiusAddAt(x, 0, y, 0, out.length, c, out, 0, 'float64');
  return out;
}

/** Möbius scalar multiplication r ⊗ x (see mobiusScalarMulAt). */
export function mobiusScalarMul(r: number, x: Vec, c = 1): Float64Array {
  checkCurvature(c);
  const out = new Float64Array(x.length);
  mobiusScalarMulAt(r, x, 0, x.length, c, out, 0, 'float64');
  return out;
}

/** exp₀(v) (see expmap0At). */
export function expmap0(v: Vec, c = 1): Float64Array {
  checkCurvature(c);
  const out = new Float64Array(v.length);
  expmap0At(v, 0, v.length, c, out, 0, 'float64');
  return out;
}

/** log₀(y) (see logmap0At). */
export function logmap0(y: Vec, c = 1): Float64Array {
  checkCurvature(c);
  const out = new Float64Array(y.length);
  logmap0At(y, 0, y.length, c, out, 0);
  return out;
}

/** exp_x(v) (see expmapAt). */
export function expmap(x: Vec, v: Vec, c = 1): Float64Array {
  checkCurvature(c);
  const d = dimOf(x, v);
  const out = new Float64Array(d);
  expmapAt(x, 0, v, 0, d, c, out, 0, 'float64', new Float64Array(d));
  return out;
}

/** log_x(y) (see logmapAt). */
export function logmap(x: Vec, y: Vec, c = 1): Float64Array {
  checkCurvature(c);
  const d = dimOf(x, y);
  const out = new Float64Array(d);
  logmapAt(x, 0, y, 0, d, c, out, 0, new Float64Array(d));
  return out;
}

/** Poincaré distance d(x, y) (see distAt). */
export function dist(x: Vec, y: Vec, c = 1): number {
  checkCurvature(c);
  return distAt(x, 0, y, 0, dimOf(x, y), c);
}

/** Distance to the origin: d(0, x) = (2/√c) artanh(√c‖x‖). */
export function dist0(x: Vec, c = 1): number {
  checkCurvature(c);
  const sc = Math.sqrt(c);
  return (2 / sc) * safeArtanh(sc * Math.sqrt(dot(x, x)));
}

/** gyr[u, v]w (see gyrationAt). */
export function gyration(u: Vec, v: Vec, w: Vec, c = 1): Float64Array {
  checkCurvature(c);
  const d = dimOf(u, v, w);
  const out = new Float64Array(d);
  gyrationAt(u, 0, v, 0, w, 0, d, c, out, 0);
  return out;
}

/** Parallel transport P_{x→y}(v) (see transportAt). */
export function transport(x: Vec, y: Vec, v: Vec, c = 1): Float64Array {
  checkCurvature(c);
  const d = dimOf(x, y, v);
  const out = new Float64Array(d);
  transportAt(x, 0, y, 0, v, 0, d, c, out, 0);
  return out;
}

/** Transport from the origin: P_{0→y}(v) = (1 − c‖y‖²) v (gyr[y, 0] is the identity). */
export function transport0(y: Vec, v: Vec, c = 1): Float64Array {
  return transport(new Float64Array(y.length), y, v, c);
}

/** Signed gyroplane value sgn(⟨log_p x, a⟩)·‖a‖_p·d(x, H_{a,p}) (Hsu et al. Eq. 5). */
export function gyroplaneSigned(x: Vec, a: Vec, p: Vec, c = 1): number {
  checkCurvature(c);
  const d = dimOf(x, a, p);
  return gyroplaneAt(x, 0, a, 0, p, 0, d, c, true, new Float64Array(d));
}

/** Distance from x to the gyroplane H_{a,p} (Hsu et al. Eq. 6). */
export function gyroplaneDist(x: Vec, a: Vec, p: Vec, c = 1): number {
  checkCurvature(c);
  const d = dimOf(x, a, p);
  return gyroplaneAt(x, 0, a, 0, p, 0, d, c, false, new Float64Array(d));
}

// ---------------------------------------------------------------------------------------------
// Batched forms over flat N × d arrays. `out` may alias an input of the same layout.
// ---------------------------------------------------------------------------------------------

function rowsOf(a: FloatArray, d: number, what: string): number {
  if (!Number.isInteger(d) || d < 1) throw new HypersegError('INVALID_ARGUMENT', `dimension d must be a positive integer, got ${d}`);
  if (a.length % d !== 0) {
    throw new HypersegError('SHAPE_MISMATCH', `${what} must hold N × ${d} values, got ${a.length} (not a multiple of ${d})`);
  }
  return a.length / d;
}

function sameRows(n: number, b: FloatArray, d: number, what: string): void {
  if (b.length !== n * d) throw new HypersegError('SHAPE_MISMATCH', `${what} must hold ${n} × ${d} values, got ${b.length}`);
}

/** Row-wise projection into the ball; margin from `out`'s dtype. */
export function projectBatch(x: FloatArray, d: number, c: number, out: FloatArray = x): FloatArray {
  checkCurvature(c);
  const n = rowsOf(x, d, 'x');
  sameRows(n, out, d, 'out');
  const dt = dtypeOf(out);
  for (let i = 0, o = 0; i < n; i++, o += d) projectAt(x, o, d, c, out, o, dt);
  return out;
}

/** Row-wise x_i ⊕ y_i. */
export function mobiusAddBatch(x: FloatArray, y: FloatArray, d: number, c: number, out: FloatArray = new Float64Array(x.length)): FloatArray {
  checkCurvature(c);
  const n = rowsOf(x, d, 'x');
  sameRows(n, y, d, 'y');
  sameRows(n, out, d, 'out');
  const dt = dtypeOf(out);
  for (let i = 0, o = 0; i < n; i++, o += d) mobiusAddAt(x, o, y, o, d, c, out, o, dt);
  return out;
}

/** Row-wise exp₀(v_i). */
export function expmap0Batch(v: FloatArray, d: number, c: number, out: FloatArray = new Float64Array(v.length)): FloatArray {
  checkCurvature(c);
  const n = rowsOf(v, d, 'v');
  sameRows(n, out, d, 'out');
  const dt = dtypeOf(out);
  for (let i = 0, o = 0; i < n; i++, o += d) expmap0At(v, o, d, c, out, o, dt);
  return out;
}

/** Row-wise log₀(y_i). */
export function logmap0Batch(y: FloatArray, d: number, c: number, out: FloatArray = new Float64Array(y.length)): FloatArray {
  checkCurvature(c);
  const n = rowsOf(y, d, 'y');
  sameRows(n, out, d, 'out');
  for (let i = 0, o = 0; i < n; i++, o += d) logmap0At(y, o, d, c, out, o);
  return out;
}

/** Row-wise exp_{x_i}(v_i). */
export function expmapBatch(x: FloatArray, v: FloatArray, d: number, c: number, out: FloatArray = new Float64Array(x.length)): FloatArray {
  checkCurvature(c);
  const n = rowsOf(x, d, 'x');
  sameRows(n, v, d, 'v');
  sameRows(n, out, d, 'out');
  const dt = dtypeOf(out);
  const tmp = new Float64Array(d);
  for (let i = 0, o = 0; i < n; i++, o += d) expmapAt(x, o, v, o, d, c, out, o, dt, tmp);
  return out;
}

/** Row-wise log_{x_i}(y_i). */
export function logmapBatch(x: FloatArray, y: FloatArray, d: number, c: number, out: FloatArray = new Float64Array(x.length)): FloatArray {
  checkCurvature(c);
  const n = rowsOf(x, d, 'x');
  sameRows(n, y, d, 'y');
  sameRows(n, out, d, 'out');
  const tmp = new Float64Array(d);
  for (let i = 0, o = 0; i < n; i++, o += d) logmapAt(x, o, y, o, d, c, out, o, tmp);
  return out;
}

/** Row-wise d(x_i, y_i) into `out` (length N). */
export function distBatch(x: FloatArray, y: FloatArray, d: number, c: number, out: FloatArray = new Float64Array(x.length / d)): FloatArray {
  checkCurvature(c);
  const n = rowsOf(x, d, 'x');
  sameRows(n, y, d, 'y');
  if (out.length !== n) throw new HypersegError('SHAPE_MISMATCH', `out must hold ${n} distances, got ${out.length}`);
  for (let i = 0, o = 0; i < n; i++, o += d) out[i] = distAt(x, o, y, o, d, c);
  return out;
}

/** d(x_i, p) for every row x_i and one point p, into `out` (length N). */
export function distToPointBatch(x: FloatArray, d: number, p: Vec, c: number, out: FloatArray = new Float64Array(x.length / d)): FloatArray {
  checkCurvature(c);
  const n = rowsOf(x, d, 'x');
  if (p.length !== d) throw new HypersegError('SHAPE_MISMATCH', `point p must have ${d} values, got ${p.length}`);
  if (out.length !== n) throw new HypersegError('SHAPE_MISMATCH', `out must hold ${n} distances, got ${out.length}`);
  for (let i = 0, o = 0; i < n; i++, o += d) out[i] = distAt(x, o, p, 0, d, c);
  return out;
}

/** Row-wise P_{x_i→y_i}(v_i). */
export function transportBatch(
  x: FloatArray, y: FloatArray, v: FloatArray, d: number, c: number, out: FloatArray = new Float64Array(v.length),
): FloatArray {
  checkCurvature(c);
  const n = rowsOf(x, d, 'x');
  sameRows(n, y, d, 'y');
  sameRows(n, v, d, 'v');
  sameRows(n, out, d, 'out');
  for (let i = 0, o = 0; i < n; i++, o += d) transportAt(x, o, y, o, v, o, d, c, out, o);
  return out;
}

/** Signed gyroplane value (or distance when `signed` is false) of every row x_i for one plane (a, p). */
export function gyroplaneBatch(
  x: FloatArray, d: number, a: Vec, p: Vec, c: number, signed = true, out: FloatArray = new Float64Array(x.length / d),
): FloatArray {
  checkCurvature(c);
  const n = rowsOf(x, d, 'x');
  if (a.length !== d || p.length !== d) throw new HypersegError('SHAPE_MISMATCH', `a and p must have ${d} values, got ${a.length} and ${p.length}`);
  if (out.length !== n) throw new HypersegError('SHAPE_MISMATCH', `out must hold ${n} values, got ${out.length}`);
  const tmp = new Float64Array(d);
  for (let i = 0, o = 0; i < n; i++, o += d) out[i] = gyroplaneAt(x, o, a, 0, p, 0, d, c, signed, tmp);
  return out;
}

