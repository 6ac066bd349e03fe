/**
 * Poincaré-ball operations as TensorFlow.js tensor ops: the definitions of src/geometry/poincare.ts
 * and python-env/hyperseg_worker/geometry.py, over the last axis, differentiable with finite
 * gradients at the origin and near the boundary (norms and 1 − c‖x‖² are floored, as in torch).
 * Branches are blended with tf.step masks rather than tf.where on comparisons: TensorFlow.js has no
 * gradient for comparison ops on the tape.
 */

import * as tf from '@tensorflow/tfjs';
import { BALL_EPS, MIN_DENOM, MIN_NORM } from '../../geometry/stability.js';

type T = tf.Tensor;
const SERIES = 1e-4; // float32: below this s, tanh(s)/s, artanh(s)/s, asinh(s)/s take their series

export const sq = (x: T): T => tf.sum(tf.mul(x, x), -1, true);
export const safeNorm = (x: T): T => tf.sqrt(tf.maximum(sq(x), MIN_NORM * MIN_NORM));

export function oneMinusCNormSq(x2: T, c: number): T {
  const s = tf.sqrt(tf.maximum(tf.mul(x2, c), MIN_NORM * MIN_NORM));
  return tf.maximum(tf.mul(tf.sub(1, s), tf.add(1, s)), MIN_DENOM);
}

/** 1 where x > 0, else 0; its gradient is zero. */
export const above = (x: T): T => tf.step(x);

function ratio(fn: (s: T) => T, series: (s: T) => T, s: T): T {
  const big = above(tf.sub(s, SERIES));
  const safe = tf.add(s, tf.sub(1, big)); // ≥ 1 where the series is used: no 0/0 on either branch
  return tf.add(tf.mul(big, tf.div(fn(safe), safe)), tf.mul(tf.sub(1, big), series(s)));
}

const tanhOverX = (s: T) => ratio(tf.tanh, (t) => tf.sub(1, tf.div(tf.mul(t, t), 3)), s);
const artanhOverX = (s: T) => ratio((t) => tf.atanh(tf.minimum(t, 1 - 1e-7)), (t) => tf.add(1, tf.div(tf.mul(t, t), 3)), s);

export function project(x: T, c: number): T {
  const rmax = (1 - BALL_EPS.float32) / Math.sqrt(c);
  return tf.mul(x, tf.minimum(1, tf.div(rmax, safeNorm(x))));
}

export const lambdaX = (x: T, c: number): T => tf.div(2, oneMinusCNormSq(sq(x), c));

export function mobiusAdd(x: T, y: T, c: number, proj = true): T {
  const s = tf.add(x, y);
  const ox = oneMinusCNormSq(sq(x), c);
  const s2 = sq(s);
  const den = tf.maximum(tf.add(tf.mul(ox, oneMinusCNormSq(sq(y), c)), tf.mul(s2, c)), MIN_DENOM);
  const out = tf.div(tf.add(tf.mul(ox, s), tf.mul(tf.mul(s2, c), x)), den);
  return proj ? project(out, c) : out;
}

export const expmap0 = (v: T, c: number): T => project(tf.mul(tanhOverX(tf.mul(safeNorm(v), Math.sqrt(c))), v), c);
export const logmap0 = (y: T, c: number): T => tf.mul(artanhOverX(tf.mul(safeNorm(y), Math.sqrt(c))), y);

/** d(x, y) = (2/√c) asinh(√u), keepdims. */
export function dist(x: T, y: T, c: number): T {
  const u = tf.div(tf.mul(sq(tf.sub(x, y)), c), tf.mul(oneMinusCNormSq(sq(x), c), oneMinusCNormSq(sq(y), c)));
  // u floored at MIN_NORM²: d(x, x) = (2/√c)·asinh(1e-15) ≈ 2e-15, with a zero gradient there
  return tf.mul(tf.asinh(tf.sqrt(tf.maximum(u, MIN_NORM * MIN_NORM))), 2 / Math.sqrt(c));
}

export function expmap(x: T, v: T, c: number): T {
  const lam = lambdaX(x, c);
  const s = tf.mul(safeNorm(v), Math.sqrt(c));
  const second = tf.mul(tf.mul(tf.div(lam, 2), tanhOverX(tf.div(tf.mul(lam, s), 2))), v);
  return mobiusAdd(x, second, c);
}

export function logmap(x: T, y: T, c: number): T {
  const z = mobiusAdd(tf.neg(x), y, c, false);
  return tf.mul(tf.div(dist(x, y, c), tf.mul(lambdaX(x, c), safeNorm(z))), z);
}

export const transport0 = (y: T, v: T, c: number): T => tf.mul(oneMinusCNormSq(sq(y), c), v);

/** Signed gyroplane value sgn⟨z, a⟩·λ_p‖a‖·d(x, H_{a,p}), z = −p ⊕ x (no keepdims). */
export function gyroplane(x: T, a: T, p: T, c: number): T {
  const op = oneMinusCNormSq(sq(p), c);
  const ox = oneMinusCNormSq(sq(x), c);
  const oneMinusZ2 = tf.div(tf.mul(op, ox), tf.add(tf.mul(op, ox), tf.mul(sq(tf.sub(x, p)), c)));
  const z = mobiusAdd(tf.neg(p), x, c, false);
  const za = tf.sum(tf.mul(z, a), -1, true);
  const an = safeNorm(a);
  const sc = Math.sqrt(c);
  const arg = tf.div(tf.mul(za, 2 * sc), tf.mul(tf.maximum(oneMinusZ2, MIN_DENOM), an));
  return tf.squeeze(tf.div(tf.mul(tf.mul(tf.div(2, op), an), tf.asinh(arg)), sc), [-1]);
}
