/** Test helpers: seeded random points in the ball and closeness assertions with stated tolerances. */

import { expect } from 'vitest';
import { Rng } from '../../src/random.js';

/** A point with ‖x‖ = r/√c in a uniformly random direction. */
export function pointAtRadius(rng: Rng, d: number, r: number, c = 1): Float64Array {
  const v = new Float64Array(d);
  let n = 0;
  for (let t = 0; t < d; t++) {
    v[t] = rng.normal();
    n += v[t] * v[t];
  }
  n = Math.sqrt(n);
  for (let t = 0; t < d; t++) v[t] *= r / (n * Math.sqrt(c));
  return v;
}

/** A point with radius fraction drawn uniformly from [0, rmax). */
export function randomPoint(rng: Rng, d: number, c = 1, rmax = 0.95): Float64Array {
  return pointAtRadius(rng, d, rmax * rng.float(), c);
}

export function randomVector(rng: Rng, d: number, scale = 1): Float64Array {
  return Float64Array.from({ length: d }, () => scale * rng.normal());
}

/** |a_i − b_i| ≤ atol + rtol·|b_i| for every i. */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol = 0, what = ''): void {
  expect(a.length, `${what} length`).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]);
    if (!(err <= atol + rtol * Math.abs(b[i]))) {
      throw new Error(`${what} [${i}]: got ${a[i]}, expected ${b[i]} (|diff| ${err} > ${atol} + ${rtol}·|expected|)`);
    }
  }
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}
