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

export type Shape3 = readonly [number, number, number];

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

/** Fills `t` (first `m` entries) for samples x_j = start + (j + 0.5)·step − 0.5 on an axis of length n. */
export function fillAxis(t: AxisTable, start: number, step: number, m: number, n: number): void {
  const last = n - 1;
  for (let j = 0; j < m; j++) {
    let x = start + (j + 0.5) * step - 0.5;
    if (x < 0) x = 0;
    else if (x > last) x = last;
    const i0 = Math.floor(x);
    const i1 = i0 < last ? i0 + 1 : i0;
    t.i0[j] = i0;
    t.i1[j] = i1;
    t.w[j] = x - i0;
  }
}

/**
 * Writes the trilinear samples given by three axis tables (mx × my × mz samples, x fastest) into
 * `out` at `offset`. Allocates nothing.
 */
export function sampleTables(
  grid: Grid, tx: AxisTable, ty: AxisTable, tz: AxisTable, mx: number, my: number, mz: number, out: Float32Array, offset: number,
): void {
  const { data } = grid;
  const [nx, ny] = grid.shape;
  const sxy = nx * ny;
  let o = offset;
  for (let k = 0; k < mz; k++) {
    const z0 = tz.i0[k] * sxy;
    const z1 = tz.i1[k] * sxy;
    const wz = tz.w[k];
    for (let j = 0; j < my; j++) {
      const y0 = ty.i0[j] * nx;
      const y1 = ty.i1[j] * nx;
      const wy = ty.w[j];
      const b00 = z0 + y0;
      const b01 = z0 + y1;
      const b10 = z1 + y0;
      const b11 = z1 + y1;
      for (let i = 0; i < mx; i++) {
        const x0 = tx.i0[i];
        const x1 = tx.i1[i];
        const wx = tx.w[i];
        const c00 = data[b00 + x0] + wx * (data[b00 + x1] - data[b00 + x0]);
        const c01 = data[b01 + x0] + wx * (data[b01 + x1] - data[b01 + x0]);
        const c10 = data[b10 + x0] + wx * (data[b10 + x1] - data[b10 + x0]);
        const c11 = data[b11 + x0] + wx * (data[b11 + x1] - data[b11 + x0]);
        const c0 = c00 + wy * (c01 - c00);
        const c1 = c10 + wy * (c11 - c10);
        out[o++] = c0 + wz * (c1 - c0);
      }
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
 * sample J at centre coordinate (J + 0.5)·p/m − 0.5. The range may extend past the volume (edge
 * padding) so that every voxel's window is inside it. Returns the samples (x fastest), their shape
 * and `lo`.
 */
export function resampleVolume(
  grid: Grid, p: number, m: number, lo: readonly [number, number, number], hi: readonly [number, number, number],
): { data: Float32Array; shape: [number, number, number]; lo: readonly [number, number, number] } {
  const step = p / m;
  const shape: [number, number, number] = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
  if (shape.some((s) => !Number.isInteger(s) || s < 1)) throw new HypersegError('INVALID_ARGUMENT', `resample range must be non-empty integers, got [${lo}] to [${hi}]`);
  const count = shape[0] * shape[1] * shape[2];
  const t = [axisTable(shape[0]), axisTable(shape[1]), axisTable(shape[2])];
  // start = lo·step, so that x_J = lo·step + (J − lo + 0.5)·step − 0.5 = (J + 0.5)·step − 0.5.
  for (let a = 0; a < 3; a++) fillAxis(t[a], lo[a] * step, step, shape[a], grid.shape[a]);
  const data = new Float32Array(count);
  sampleTables(grid, t[0], t[1], t[2], shape[0], shape[1], shape[2], data, 0);
  return { data, shape, lo };
}

/**
 * Index J₀ of the first sample of voxel v's window in the whole-volume resampling with step p/m:
 * J₀ = (v + 0.5 − p/2)·m/p. Throws unless it is an integer for every v (the condition under which
 * the dense path reproduces per-patch inference exactly).
 */
export function denseWindowOrigin(v: number, p: number, m: number): number {
  const j0 = ((v + 0.5 - p / 2) * m) / p;
  const r = Math.round(j0);
  if (Math.abs(j0 - r) > 1e-9) {
    throw new HypersegError('INVALID_ARGUMENT', `patch size p = ${p} and model input m = ${m} do not put voxel windows on the resampled grid (J₀ = ${j0} for voxel ${v}); use m/p an integer with m − m/p even, e.g. p = 5, m = 10`);
  }
  return r;
}
