/**
 * Seeded pseudo-random numbers. Every sampler, initialiser and k-means run takes an explicit `Rng`;
 * nothing in the library uses Math.random.
 *
 * Generator: xoshiro128** (Blackman & Vigna, 2018), state seeded by SplitMix32 from a 32-bit seed
 * and a stream index, so that derived streams (k-means restart i, worker j) are independent of
 * how many others are drawn.
 */

import { HypersegError } from './errors.js';

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = 0;
  private hasSpare = false;

  /** `seed`: any safe integer; `stream`: an index selecting an independent sequence for that seed. */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(stream)) {
      throw new HypersegError('INVALID_ARGUMENT', `seed and stream must be integers, got ${seed} and ${stream}`);
    }
    const st = { s: (seed ^ Math.imul(stream + 1, 0x632be5ab) ^ Math.floor(seed / 2 ** 32)) | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** The generator's full state (for checkpoints: `Rng.fromState(r.state())` continues the sequence exactly). */
  state(): number[] {
    return [this.a, this.b, this.c, this.d, this.spare, this.hasSpare ? 1 : 0];
  }

  static fromState(state: readonly number[]): Rng {
    if (!Array.isArray(state) || state.length !== 6 || state.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
      throw new HypersegError('INVALID_INPUT', `random generator state must be 6 finite numbers, got ${JSON.stringify(state)}`);
    }
    const r = new Rng(0);
    [r.a, r.b, r.c, r.d] = state.slice(0, 4).map((v) => v | 0);
    if ((r.a | r.b | r.c | r.d) === 0) throw new HypersegError('INVALID_INPUT', 'random generator state is all zero');
    r.spare = state[4];
    r.hasSpare = state[5] === 1;
    return r;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new HypersegError('INVALID_ARGUMENT', `int(n) needs an integer n ≥ 1, got ${n}`);
    return Math.floor(this.float() * n);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.float() - 1;
      v = 2 * this.float() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
