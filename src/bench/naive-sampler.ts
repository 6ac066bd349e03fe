/**
 * The sampler benchmark's baseline: triplets cut and rescaled the way the published code does it —
 * each box cropped out of the volume into a new array (integer bounds), then rescaled to m³ by a
 * generic resize (like skimage.transform.resize with order = 1) that allocates its output and
 * evaluates every sample through a general interpolation function. Same boxes as ours (drawn by our
 * sampler), so only the cutting and rescaling differ. Not used outside the benchmark.
 */

import type { Box, Grid } from '../sampling/resample.js';

function crop(grid: Grid, box: Box): { data: Float32Array; shape: number[] } {
  const lo = box.start.map((s) => Math.floor(s));
  const hi = box.start.map((s, a) => Math.min(grid.shape[a], Math.max(lo[a] + 1, Math.ceil(s + box.size[a]))));
  const shape = lo.map((l, a) => hi[a] - l);
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  for (let z = 0; z < shape[2]; z++) {
    for (let y = 0; y < shape[1]; y++) {
      for (let x = 0; x < shape[0]; x++) {
        data[x + shape[0] * (y + shape[1] * z)] = grid.data[lo[0] + x + grid.shape[0] * (lo[1] + y + grid.shape[1] * (lo[2] + z))];
      }
    }
  }
  return { data, shape };
}

function interpolate(data: Float32Array, shape: number[], p: number[]): number {
  const idx = p.map((v, a) => Math.min(Math.max(v, 0), shape[a] - 1));
  const i0 = idx.map(Math.floor);
  const i1 = i0.map((v, a) => Math.min(v + 1, shape[a] - 1));
  const w = idx.map((v, a) => v - i0[a]);
  let s = 0;
  for (let c = 0; c < 8; c++) {
    const pick = [c & 1, (c >> 1) & 1, (c >> 2) & 1];
    const q = pick.map((b, a) => (b ? i1[a] : i0[a]));
    const weight = pick.reduce((acc, b, a) => acc * (b ? w[a] : 1 - w[a]), 1);
    s += weight * data[q[0] + shape[0] * (q[1] + shape[1] * q[2])];
  }
  return s;
}

function resize(img: { data: Float32Array; shape: number[] }, m: number): Float32Array {
  const out = new Float32Array(m * m * m);
  const scale = img.shape.map((s) => s / m);
  for (let z = 0; z < m; z++) {
    for (let y = 0; y < m; y++) {
      for (let x = 0; x < m; x++) {
        const p = [x, y, z].map((j, a) => (j + 0.5) * scale[a] - 0.5);
        out[x + m * (y + m * z)] = interpolate(img.data, img.shape, p);
      }
    }
  }
  return out;
}

/** Crops and rescales the three boxes of one triplet; returns the three new arrays. */
export function naiveTriplet(grid: Grid, boxes: Box[], m: number): Float32Array[] {
  return boxes.map((b) => resize(crop(grid, b), m));
}
