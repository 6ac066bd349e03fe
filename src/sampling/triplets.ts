/**
 * Multi-scale triplet sampler for the hierarchical triplet loss (Hsu et al. 2021, Sec. 3.3).
 *
 * For each triplet, from one volume chosen uniformly:
 *  - anchor: centre uniform in the volume, cube side r ~ U(rMin, rMax) (or log-uniform), the box
 *    [c − r/2, c + r/2) clipped at the volume border (so a border anchor is a smaller, possibly
 *    non-cubic box; it is still resampled to m³);
 *  - positive: a cube inside the anchor box, side r_c ~ U(lMin, min(lMax, r_in − rGap)), r_in the
 *    anchor's smallest clipped side, position uniform inside the anchor;
 *  - negative: a cube of the positive's side, position uniform in the volume, not overlapping the
 *    anchor box (rejection sampling; a fresh anchor is drawn if none fits).
 * Each box is resampled to m³ with the convention of resample.ts. Reference numbers for 50³
 * volumes (DESIGN §2): r ∈ [5, 35), child ∈ [3, min(15, r − 1)), m = 10.
 *
 * Intensity jitter (`jitter: [a, b]`, off by default; not in DESIGN or the paper): each of the three
 * patches of a triplet, independently, becomes x ↦ μ + g·(x − μ) + o·σ with g ~ U(1 − a, 1 + a),
 * o ~ U(−b, b), and μ, σ its volume's mean and standard deviation, so the triplet term asks for
 * embeddings that do not move with a patch's overall brightness and contrast, only with its content.
 * Off, it draws nothing (the generator's stream, and so every earlier run, is unchanged).
 *
 * Batches are written into one preallocated buffer holding three Float32Array views laid out
 * [B, 1, m, m, m] (anchor, positive, negative); the iterator reuses `inFlight` buffers in turn, so
 * no more than that many batches exist at once. Every draw comes from the sampler's seeded Rng.
 */

import { HypersegError } from '../errors.js';
import { TensorFrame } from '../protocol/codec.js';
import { Rng } from '../random.js';
import { type Box, type Grid, boxScratch, resampleBox } from './resample.js';

export interface TripletConfig {
  /** Model input side (samples per axis), default 10. */
  m?: number;
  /** Anchor side range [rMin, rMax) in voxels, defaults 5 and 35. */
  rMin?: number;
  rMax?: number;
  /** Anchor side distribution: 'uniform' (default; small inputs) or 'log' (log-uniform; large inputs such as BraTS). */
  scale?: 'uniform' | 'log';
  /** Child side range: [lMin, min(lMax, r − rGap)), defaults 3, 15, 1. */
  lMin?: number;
  lMax?: number;
  rGap?: number;
  /** Skip anchors whose resampled values are all ≤ this (pure background); null (default) keeps all. */
  skipBelow?: number | null;
  /** Attempts before giving up on a volume that cannot host a valid triplet (default 1000). */
  maxAttempts?: number;
  /** Intensity jitter [a, b]: gain U(1 − a, 1 + a) about the volume mean, offset U(−b, b) volume standard deviations (default [0, 0]: off). */
  jitter?: [number, number];
}

export type ResolvedTripletConfig = Required<TripletConfig>;

/** Whether a jitter [gain, offset] draws anything ([0, 0] is off). */
export const jitterOn = (j: readonly [number, number]): boolean => j[0] > 0 || j[1] > 0;

export function resolveTripletConfig(c: TripletConfig = {}): ResolvedTripletConfig {
  const r: ResolvedTripletConfig = {
    m: c.m ?? 10, rMin: c.rMin ?? 5, rMax: c.rMax ?? 35, scale: c.scale ?? 'uniform',
    lMin: c.lMin ?? 3, lMax: c.lMax ?? 15, rGap: c.rGap ?? 1, skipBelow: c.skipBelow ?? null, maxAttempts: c.maxAttempts ?? 1000,
    jitter: c.jitter ?? [0, 0],
  };
  const bad = (msg: string): never => {
    throw new HypersegError('INVALID_ARGUMENT', `triplet sampler: ${msg}`);
  };
  if (!Number.isInteger(r.m) || r.m < 1) bad(`m must be an integer ≥ 1, got ${r.m}`);
  if (!(r.rMin > 0 && r.rMax > r.rMin)) bad(`need 0 < rMin < rMax, got rMin = ${r.rMin}, rMax = ${r.rMax}`);
  if (!(r.lMin > 0 && r.lMax > r.lMin)) bad(`need 0 < lMin < lMax, got lMin = ${r.lMin}, lMax = ${r.lMax}`);
  if (!(r.rGap >= 0)) bad(`rGap must be ≥ 0, got ${r.rGap}`);
  if (r.rMax - r.rGap <= r.lMin) bad(`rMax − rGap (${r.rMax - r.rGap}) must exceed lMin (${r.lMin}), or no positive fits`);
  if (r.scale !== 'uniform' && r.scale !== 'log') bad(`scale must be 'uniform' or 'log', got '${String(r.scale)}'`);
  const j = r.jitter;
  if (!Array.isArray(j) || j.length !== 2 || !j.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0) || !(j[0] < 1)) {
    bad(`jitter must be [gain, offset] with 0 ≤ gain < 1 and offset ≥ 0, got ${JSON.stringify(j)}`);
  }
  return r;
}

/** One batch: three [B, 1, m, m, m] arrays, and the boxes they were cut from. */
export interface TripletBatch {
  size: number;
  m: number;
  anchor: Float32Array;
  positive: Float32Array;
  negative: Float32Array;
  /** All three, contiguous [3, B, 1, m, m, m], when allocated in one buffer (null for wire frames). */
  all: Float32Array | null;
  /** When allocated as wire frames (src/protocol): the frames whose data regions the arrays are. */
  frames?: { anchor: TensorFrame<Float32Array>; positive: TensorFrame<Float32Array>; negative: TensorFrame<Float32Array> };
  /** Per triplet: volume index. */
  volume: Int32Array;
  /** Per triplet and role (anchor, positive, negative): start xyz then size xyz, [B, 3, 6]. */
  boxes: Float64Array;
}

/**
 * Allocates a batch. With `asFrames`, each of the three arrays is the data region of a wire frame
 * (TensorFrame), so the sampler writes straight into what the socket sends.
 */
export function allocateTripletBatch(size: number, m: number, asFrames = false): TripletBatch {
  if (!Number.isInteger(size) || size < 1) throw new HypersegError('INVALID_ARGUMENT', `batch size must be an integer ≥ 1, got ${size}`);
  const per = size * m * m * m;
  if (asFrames) {
    const shape = [size, 1, m, m, m];
    const frames = {
      anchor: TensorFrame.allocate('anchor', 'float32', shape),
      positive: TensorFrame.allocate('positive', 'float32', shape),
      negative: TensorFrame.allocate('negative', 'float32', shape),
    };
    return {
      size, m, all: null, frames,
      anchor: frames.anchor.data, positive: frames.positive.data, negative: frames.negative.data,
      volume: new Int32Array(size), boxes: new Float64Array(size * 18),
    };
  }
  const all = new Float32Array(3 * per);
  return {
    size, m, all,
    anchor: all.subarray(0, per), positive: all.subarray(per, 2 * per), negative: all.subarray(2 * per, 3 * per),
    volume: new Int32Array(size), boxes: new Float64Array(size * 18),
  };
}

function overlaps(a: Box, b: Box): boolean {
  for (let t = 0; t < 3; t++) {
    if (a.start[t] + a.size[t] <= b.start[t] || b.start[t] + b.size[t] <= a.start[t]) return false;
  }
  return true;
}

export class TripletSampler {
  readonly config: ResolvedTripletConfig;
  private readonly volumes: Grid[];
  private readonly rng: Rng;
  private readonly scratch;
  private readonly probe: Float32Array;
  private readonly anchorBox: Box = { start: [0, 0, 0], size: [0, 0, 0] };
  private readonly posBox: Box = { start: [0, 0, 0], size: [0, 0, 0] };
  private readonly negBox: Box = { start: [0, 0, 0], size: [0, 0, 0] };
  private readonly roles: readonly Box[] = [this.anchorBox, this.posBox, this.negBox];
  /** Per volume: mean and standard deviation (float64 sums), when jitter is on. */
  private readonly stats: { mean: number; sd: number }[] = [];

  constructor(volumes: Grid[], config: TripletConfig, rng: Rng) {
    this.config = resolveTripletConfig(config);
    if (volumes.length === 0) throw new HypersegError('INVALID_INPUT', 'triplet sampler: no volumes to sample from');
    volumes.forEach((v, i) => {
      const [nx, ny, nz] = v.shape;
      if (v.data.length !== nx * ny * nz) throw new HypersegError('SHAPE_MISMATCH', `volume ${i}: data holds ${v.data.length} values, shape ${nx}×${ny}×${nz} needs ${nx * ny * nz}`);
      if (Math.min(nx, ny, nz) <= this.config.lMin) {
        throw new HypersegError('INVALID_INPUT', `volume ${i} (${nx}×${ny}×${nz}) is too small for children of side ≥ ${this.config.lMin}`);
      }
    });
    this.volumes = volumes;
    this.rng = rng;
    if (this.jitters) {
      for (const v of volumes) {
        let sum = 0;
        for (let i = 0; i < v.data.length; i++) sum += v.data[i];
        const mean = sum / v.data.length;
        let ss = 0;
        for (let i = 0; i < v.data.length; i++) ss += (v.data[i] - mean) ** 2;
        this.stats.push({ mean, sd: Math.sqrt(ss / v.data.length) });
      }
    }
    this.scratch = boxScratch(this.config.m);
    this.probe = new Float32Array(this.config.m ** 3);
  }

  /** Draws the three boxes of one triplet in volume `vi`; false if no valid triplet was found. */
  private drawBoxes(vi: number): boolean {
    const { rMin, rMax, scale, lMin, lMax, rGap, skipBelow, maxAttempts, m } = this.config;
    const grid = this.volumes[vi];
    const n = grid.shape;
    const rng = this.rng;
    const A = this.anchorBox;
    const P = this.posBox;
    const N = this.negBox;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const r = scale === 'log' ? Math.exp(rng.uniform(Math.log(rMin), Math.log(rMax))) : rng.uniform(rMin, rMax);
      let rIn = Infinity;
      for (let t = 0; t < 3; t++) {
        const c = rng.uniform(0, n[t]);
        const lo = Math.max(0, c - r / 2);
        const hi = Math.min(n[t], c + r / 2);
        A.start[t] = lo;
        A.size[t] = hi - lo;
        rIn = Math.min(rIn, hi - lo);
      }
      const childMax = Math.min(lMax, rIn - rGap);
      if (childMax <= lMin) continue;
      if (skipBelow !== null) {
        resampleBox(grid, A, m, this.probe, 0, this.scratch);
        let any = false;
        for (let i = 0; i < this.probe.length && !any; i++) any = this.probe[i] > skipBelow;
        if (!any) continue;
      }
      const rc = rng.uniform(lMin, childMax);
      for (let t = 0; t < 3; t++) {
        P.size[t] = rc;
        P.start[t] = A.start[t] + rng.uniform(0, A.size[t] - rc);
        N.size[t] = rc;
      }
      for (let tries = 0; tries < 64; tries++) {
        for (let t = 0; t < 3; t++) N.start[t] = rng.uniform(0, n[t] - rc);
        if (!overlaps(A, N)) return true;
      }
    }
    return false;
  }

  private get jitters(): boolean {
    return jitterOn(this.config.jitter);
  }

  /** One patch's intensity jitter (see the module header): two draws, gain then offset. */
  private jitter(arr: Float32Array, offset: number, length: number, vi: number): void {
    const [a, b] = this.config.jitter;
    const { mean, sd } = this.stats[vi];
    const g = 1 + this.rng.uniform(-a, a);
    const shift = mean * (1 - g) + this.rng.uniform(-b, b) * sd;
    for (let i = offset; i < offset + length; i++) arr[i] = g * arr[i] + shift;
  }

  /** Fills `batch` with fresh triplets. */
  fill(batch: TripletBatch): void {
    const { m } = this.config;
    if (batch.m !== m) throw new HypersegError('SHAPE_MISMATCH', `batch was allocated for m = ${batch.m}, the sampler uses m = ${m}`);
    const per = m * m * m;
    for (let b = 0; b < batch.size; b++) {
      const vi = this.volumes.length === 1 ? 0 : this.rng.int(this.volumes.length);
      if (!this.drawBoxes(vi)) {
        const [nx, ny, nz] = this.volumes[vi].shape;
        throw new HypersegError('INVALID_INPUT', `volume ${vi} (${nx}×${ny}×${nz}): no valid triplet in ${this.config.maxAttempts} attempts`, {
          suggestion: 'the volume may be too small for the anchor/child sizes, or all background for skipBelow',
        });
      }
      const grid = this.volumes[vi];
      resampleBox(grid, this.anchorBox, m, batch.anchor, b * per, this.scratch);
      resampleBox(grid, this.posBox, m, batch.positive, b * per, this.scratch);
      resampleBox(grid, this.negBox, m, batch.negative, b * per, this.scratch);
      if (this.jitters) for (const arr of [batch.anchor, batch.positive, batch.negative]) this.jitter(arr, b * per, per, vi);
      batch.volume[b] = vi;
      const o = b * 18;
      for (let role = 0; role < 3; role++) {
        const box = this.roles[role];
        for (let t = 0; t < 3; t++) {
          batch.boxes[o + role * 6 + t] = box.start[t];
          batch.boxes[o + role * 6 + 3 + t] = box.size[t];
        }
      }
    }
  }

  /**
   * Yields `count` batches of `size` triplets, reusing `inFlight` preallocated batches in turn
   * (default 1: the consumer must be done with a batch before asking for the next); `asFrames`
   * allocates them as wire frames.
   */
  *batches(count: number, size: number, inFlight = 1, asFrames = false): Generator<TripletBatch> {
    const ring = Array.from({ length: inFlight }, () => allocateTripletBatch(size, this.config.m, asFrames));
    for (let i = 0; i < count; i++) {
      const batch = ring[i % inFlight];
      this.fill(batch);
      yield batch;
    }
  }
}
