/**
 * Trilinear resampling with one fixed convention, used by every path that turns voxels into model
 * inputs: training patches (multi-scale triplets), per-voxel inference patches, and the dense path
 * (the whole volume resampled once).
 *
 * Convention (the half-voxel, "align_corners = False" convention of torch.nn.functional.interpolate
 * and scipy.ndimage.zoom(grid_mode=True)):
 *  - voxel i occupies [i, i + 1) in edge coordinates; its value sits at its centre i + 0.5;
 *  - a box on one axis is given by its edge-coordinate start and a step (box size / samples):
 *    sample j of the box lies at centre coordinate  x_j = start + (j + 0.5)·step − 0.5;
 *  - the value at x is linear interpolation between voxels ⌊x⌋ and ⌊x⌋ + 1, with x clamped to
 *    [0, n − 1]: outside the volume the border voxel is repeated ("edge" padding);
 *  - in 3-D the weights are the products of the per-axis weights (trilinear).
 * Consequences (tested): constant volumes are reproduced exactly everywhere, linear volumes exactly
 * wherever no sample is clamped; the p³ patch centred at voxel v (start = v + 0.5 − p/2, step = p/m)
 * resampled to m³ equals the window starting at J₀ = (v + 0.5 − p/2)·m/p of the whole volume
 * resampled with the same step (start 0), whenever J₀ is an integer (e.g. p = 5, m = 10: J₀ = 2v − 4).
 *
 * Layout: x fastest, index = x + nx·(y + ny·z), as in NIfTI and src/data.
 */

import { HypersegError } from '../errors.js';
import type { Shape3 } from '../types.js';


/** A float32 volume (x fastest). */
export interface Grid {
  data: Float32Array;
  shape: Shape3;
}

/** Per-axis interpolation table for m samples: lower index, upper index, weight of the upper one. */
export interface AxisTable {
  i0: Int32Array;
  i1: Int32Array;
  w: Float64Array;
}

export function axisTable(m: number): AxisTable {
  return { i0: new Int32Array(m), i1: new Int32Array(m), w: new Float64Array(m) };
}

function put(t: AxisTable, j: number, x: number, last: number): void {
  const c = x < 0 ? 0 : x > last ? last : x;
  const i0 = Math.floor(c);
  t.i0[j] = i0;
  t.i1[j] = i0 < last ? i0 + 1 : i0;
  t.w[j] = c - i0;
}

/** Fills `t` (first `m` entries) for samples x_j = start + (j + 0.5)·step − 0.5 on an axis of length n. */
export function fillAxis(t: AxisTable, start: number, step: number, m: number, n: number): void {
  for (let j = 0; j < m; j++) put(t, j, start + (j + 0.5) * step - 0.5, n - 1);
}

/**
 * Fills `t` for the samples j0, …, j0 + m − 1 of the grid with spacing `step`: x_J = (J + 0.5)·step − 0.5.
 * The whole-volume resampling and the per-voxel patches whose windows lie on that grid both use
 * this form, so their samples agree bit for bit, whatever the step.
 */
export function fillAxisOnGrid(t: AxisTable, j0: number, step: number, m: number, n: number): void {
  for (let j = 0; j < m; j++) put(t, j, (j0 + j + 0.5) * step - 0.5, n - 1);
}

// Scratch for sampleTables, reused between calls (JavaScript is single-threaded); buffers above
// CACHE_LIMIT elements are allocated per call instead, so a whole-volume resampling does not pin
// its working memory.
const CACHE_LIMIT = 1 << 20;
// slotMap: source index → slot, −1 everywhere between calls (slotsOf restores it); slotInts: the lists.
// Two buffers: they shared one before, and a later volume with more rows than an earlier one read the
// earlier call's lists as map entries (not −1), which put wrong rows into its samples.
let slotMap: Int32Array = new Int32Array(0);
let slotInts: Int32Array = new Int32Array(0);
const cache: Float64Array[] = [new Float64Array(0), new Float64Array(0)];

/** Scratch buffer `which` (0 or 1) of at least `size` elements. */
function scratch(which: 0 | 1, size: number): Float64Array {
  if (size > CACHE_LIMIT) return new Float64Array(size);
  if (cache[which].length < size) cache[which] = new Float64Array(size);
  return cache[which];
}

/**
 * Distinct source indices used by a table (first-use order) into `list`; slot0/slot1 receive each
 * sample's slot for i0 and i1. `map` must be −1 on entry for every index and is restored.
 */
function slotsOf(t: AxisTable, m: number, map: Int32Array, list: Int32Array, slot0: Int32Array, slot1: Int32Array): number {
  let count = 0;
  for (let j = 0; j < m; j++) {
    const a = t.i0[j];
    if (map[a] < 0) {
      map[a] = count;
      list[count++] = a;
    }
    const b = t.i1[j];
    if (map[b] < 0) {
      map[b] = count;
      list[count++] = b;
    }
    slot0[j] = map[a];
    slot1[j] = map[b];
  }
  for (let c = 0; c < count; c++) map[list[c]] = -1;
  return count;
}

/**
 * Writes the trilinear samples given by three axis tables (mx × my × mz samples, x fastest) into
 * `out` at `offset`. Separable: x-interpolation of each distinct source row that a sample needs,
 * then y, then z — the same operations in the same order as the textbook 8-tap formula
 * (lerp in x, then y, then z, in float64), so results are identical to it, with fewer reads.
 */
export function sampleTables(
  grid: Grid, tx: AxisTable, ty: AxisTable, tz: AxisTable, mx: number, my: number, mz: number, out: Float32Array, offset: number,
): void {
  const { data } = grid;
  const [nx, ny, nz] = grid.shape;
  const sxy = nx * ny;
  if (slotMap.length < Math.max(ny, nz)) slotMap = new Int32Array(Math.max(ny, nz)).fill(-1);
  if (slotInts.length < 4 * (my + mz)) slotInts = new Int32Array(4 * (my + mz));
  const map = slotMap;
  const ints = slotInts;
  const yList = ints.subarray(0, 2 * my);
  const y0 = ints.subarray(2 * my, 3 * my);
  const y1 = ints.subarray(3 * my, 4 * my);
  const zList = ints.subarray(4 * my, 4 * my + 2 * mz);
  const z0 = ints.subarray(4 * my + 2 * mz, 4 * my + 3 * mz);
  const z1 = ints.subarray(4 * my + 3 * mz, 4 * my + 4 * mz);
  const ny_ = slotsOf(ty, my, map, yList, y0, y1);
  const nz_ = slotsOf(tz, mz, map, zList, z0, z1);

  const bx = scratch(0, ny_ * nz_ * mx);
  const by = scratch(1, nz_ * my * mx);

  // x pass: bx[(zs·ny_ + ys)·mx + i]
  for (let zs = 0, o = 0; zs < nz_; zs++) {
    const zb = zList[zs] * sxy;
    for (let ys = 0; ys < ny_; ys++) {
      const row = zb + yList[ys] * nx;
      for (let i = 0; i < mx; i++, o++) {
        const a = data[row + tx.i0[i]];
        bx[o] = a + tx.w[i] * (data[row + tx.i1[i]] - a);
      }
    }
  }
  // y pass: by[(zs·my + j)·mx + i]
  for (let zs = 0, o = 0; zs < nz_; zs++) {
    const base = zs * ny_;
    for (let j = 0; j < my; j++) {
      const r0 = (base + y0[j]) * mx;
      const r1 = (base + y1[j]) * mx;
      const w = ty.w[j];
      for (let i = 0; i < mx; i++, o++) {
        const a = bx[r0 + i];
        by[o] = a + w * (bx[r1 + i] - a);
      }
    }
  }
  // z pass
  let o = offset;
  for (let k = 0; k < mz; k++) {
    const r0 = z0[k] * my * mx;
    const r1 = z1[k] * my * mx;
    const w = tz.w[k];
    for (let q = 0; q < my * mx; q++) {
      const a = by[r0 + q];
      out[o++] = a + w * (by[r1 + q] - a);
    }
  }
}

/** An axis-aligned box in edge coordinates: [start, start + size) per axis. */
export interface Box {
  start: [number, number, number];
  size: [number, number, number];
}

/** Scratch tables for `resampleBox`, reusable across calls. */
export interface BoxScratch {
  x: AxisTable;
  y: AxisTable;
  z: AxisTable;
}

export function boxScratch(m: number): BoxScratch {
  return { x: axisTable(m), y: axisTable(m), z: axisTable(m) };
}

/** Resamples `box` of `grid` to m³ samples (step = size/m per axis) into `out` at `offset`. */
export function resampleBox(grid: Grid, box: Box, m: number, out: Float32Array, offset: number, scratch: BoxScratch = boxScratch(m)): void {
  fillAxis(scratch.x, box.start[0], box.size[0] / m, m, grid.shape[0]);
  fillAxis(scratch.y, box.start[1], box.size[1] / m, m, grid.shape[1]);
  fillAxis(scratch.z, box.start[2], box.size[2] / m, m, grid.shape[2]);
  sampleTables(grid, scratch.x, scratch.y, scratch.z, m, m, m, out, offset);
}

/** The inference box of side p centred on voxel v = (vx, vy, vz): start = v + 0.5 − p/2. */
export function voxelBox(vx: number, vy: number, vz: number, p: number): Box {
  const h = 0.5 - p / 2;
  return { start: [vx + h, vy + h, vz + h], size: [p, p, p] };
}

/**
 * The whole volume resampled with step p/m (scale m/p) over the sample range [lo, hi) per axis,
 * sample J at centre coordinate (J + 0.5)·p/m − 0.5 (J and lo may be half-integers: a grid shifted by half a
 * sample; hi − lo is an integer). The range may extend past the volume (edge
 * padding) so that every voxel's window is inside it. Returns the samples (x fastest), their shape
 * and `lo`.
 */
export function resampleVolume(
  grid: Grid, p: number, m: number, lo: readonly [number, number, number], hi: readonly [number, number, number],
): { data: Float32Array; shape: [number, number, number]; lo: readonly [number, number, number] } {
  const step = p / m;
  const shape: [number, number, number] = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
  if (shape.some((s) => !Number.isInteger(s) || s < 1)) throw new HypersegError('INVALID_ARGUMENT', `resample range must be non-empty, a whole number of samples a side, got [${lo}] to [${hi}]`);
  const count = shape[0] * shape[1] * shape[2];
  const t = [axisTable(shape[0]), axisTable(shape[1]), axisTable(shape[2])];
  for (let a = 0; a < 3; a++) fillAxisOnGrid(t[a], lo[a], step, shape[a], grid.shape[a]);
  const data = new Float32Array(count);
  sampleTables(grid, t[0], t[1], t[2], shape[0], shape[1], shape[2], data, 0);
  return { data, shape, lo };
}

/**
 * J₀ = (v + 0.5 − p/2)·m/p when it is a multiple of ½ (to 1e-9), else null. With m/p an integer it always is:
 * an integer when m − m/p is even (p = 5, m = 10), else an integer + ½ (p = 10, m = 10: every window is
 * centred between two samples of the unshifted grid, so the grid itself is shifted by half a sample).
 * Half-integers are exact in floating point, so sample positions computed from J₀ agree bit for bit
 * between the per-patch and the dense path.
 */
export function gridWindowOrigin(v: number, p: number, m: number): number | null {
  const j0 = ((v + 0.5 - p / 2) * m) / p;
  const r = Math.round(2 * j0) / 2;
  return Math.abs(j0 - r) <= 1e-9 ? r : null;
}

/**
 * Origin J₀ = (v + 0.5 − p/2)·m/p of voxel v's window in the whole-volume resampling with step p/m (a
 * multiple of ½: see gridWindowOrigin). Throws unless it lies on that half-sample lattice, the condition
 * under which the dense path reproduces per-patch inference exactly.
 */
export function denseWindowOrigin(v: number, p: number, m: number): number {
  const r = gridWindowOrigin(v, p, m);
  if (r === null) {
    throw new HypersegError('INVALID_ARGUMENT', `patch size p = ${p} and model input m = ${m} do not put voxel windows on the resampled grid (J₀ = ${((v + 0.5 - p / 2) * m) / p} for voxel ${v}); use m/p an integer, e.g. p = 5 or 10 for m = 10`);
  }
  return r;
}
