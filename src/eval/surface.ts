/**
 * Surface-distance metrics for binary masks, defined as MONAI defines them
 * (monai.metrics.compute_hausdorff_distance, compute_average_surface_distance):
 *
 *  - The surface (edge) of a mask is mask XOR erosion(mask), with scipy's default 6-connected
 *    structuring element and everything outside the volume counted as background (MONAI crops to
 *    the union's bounding box with a one-voxel zero margin, which is the same thing).
 *  - Directed distances: for every surface voxel of A, the Euclidean distance in physical units
 *    (voxel spacing honoured) to the nearest surface voxel of B, by an exact distance transform.
 *  - HD    = max(max d(A→B), max d(B→A)).
 *  - HD95  = max(P95 d(A→B), P95 d(B→A)), percentiles with linear interpolation (numpy/torch default).
 *  - ASSD  = mean of the concatenated distances of both directions (MONAI's average surface
 *    distance with symmetric=True), which we report as the "average Hausdorff distance".
 *
 * Edge-case policy (MONAI returns inf or nan with a warning; we return the same values, but typed):
 *  - prediction and truth both empty: every value NaN, status 'both-empty' (skipped by means);
 *  - exactly one empty: every value +Infinity, status 'empty-prediction' or 'empty-truth'.
 * Callers never get a NaN or Infinity without a status naming why.
 */

import { HypersegError } from '../errors.js';
import type { Shape3, Spacing3 } from '../types.js';
import { squaredEdt } from './edt.js';

export type SurfaceStatus = 'ok' | 'both-empty' | 'empty-prediction' | 'empty-truth';

export interface SurfaceDistances {
  hd: number;
  hd95: number;
  assd: number;
  status: SurfaceStatus;
  /** Surface voxels of prediction and truth. */
  predSurface: number;
  truthSurface: number;
}

/** Surface voxels of a binary mask (see module header). */
export function maskEdges(mask: Uint8Array, shape: Shape3): Uint8Array {
  const [nx, ny, nz] = shape;
  const out = new Uint8Array(mask.length);
  const sxy = nx * ny;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const idx = i + nx * j + sxy * k;
        if (!mask[idx]) continue;
        const interior =
          i > 0 && i < nx - 1 && j > 0 && j < ny - 1 && k > 0 && k < nz - 1 &&
          mask[idx - 1] && mask[idx + 1] && mask[idx - nx] && mask[idx + nx] && mask[idx - sxy] && mask[idx + sxy];
        if (!interior) out[idx] = 1;
      }
    }
  }
  return out;
}

/** Percentile q ∈ [0, 100] with linear interpolation between order statistics (numpy 'linear'). */
export function percentile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = ((n - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Bounding box of the union of two masks, grown by `margin` and clipped to the volume; null if empty. */
function unionBox(a: Uint8Array, b: Uint8Array, shape: Shape3, margin: number): [number, number, number, number, number, number] | null {
  const [nx, ny, nz] = shape;
  let x0 = nx, y0 = ny, z0 = nz, x1 = -1, y1 = -1, z1 = -1;
  for (let k = 0, idx = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, idx++) {
        if (a[idx] || b[idx]) {
          if (i < x0) x0 = i;
          if (i > x1) x1 = i;
          if (j < y0) y0 = j;
          if (j > y1) y1 = j;
          if (k < z0) z0 = k;
          if (k > z1) z1 = k;
        }
      }
    }
  }
  if (x1 < 0) return null;
  return [
    Math.max(0, x0 - margin), Math.max(0, y0 - margin), Math.max(0, z0 - margin),
    Math.min(nx - 1, x1 + margin), Math.min(ny - 1, y1 + margin), Math.min(nz - 1, z1 + margin),
  ];
}

function crop(m: Uint8Array, shape: Shape3, box: number[]): Uint8Array {
  const [nx, ny] = shape;
  const [x0, y0, z0, x1, y1, z1] = box;
  const cx = x1 - x0 + 1, cy = y1 - y0 + 1, cz = z1 - z0 + 1;
  const out = new Uint8Array(cx * cy * cz);
  for (let k = 0; k < cz; k++) {
    for (let j = 0; j < cy; j++) {
      const src = x0 + nx * (y0 + j) + nx * ny * (z0 + k);
      out.set(m.subarray(src, src + cx), cx * (j + cy * k));
    }
  }
  return out;
}

/** Distances from every surface voxel of `from` to the nearest surface voxel of `to`, sorted. */
function directed(fromEdges: Uint8Array, toEdges: Uint8Array, shape: Shape3, spacing: Spacing3): Float64Array {
  const sq = squaredEdt(toEdges, shape, spacing);
  let count = 0;
  for (let i = 0; i < fromEdges.length; i++) if (fromEdges[i]) count++;
  const out = new Float64Array(count);
  for (let i = 0, t = 0; i < fromEdges.length; i++) if (fromEdges[i]) out[t++] = Math.sqrt(sq[i]);
  return out.sort();
}

/** Surface voxels of a non-empty mask (the same count surfaceDistances reports when both masks have some). */
function surfaceCount(mask: Uint8Array, shape: Shape3): number {
  const box = unionBox(mask, mask, shape, 1) as number[];
  const cshape: Shape3 = [box[3] - box[0] + 1, box[4] - box[1] + 1, box[5] - box[2] + 1];
  const edges = maskEdges(crop(mask, shape, box), cshape);
  let count = 0;
  for (let i = 0; i < edges.length; i++) if (edges[i]) count++;
  return count;
}

/**
 * HD, HD95 and ASSD between binary masks `pred` and `truth` (non-zero = inside), in the units of
 * `spacing` (see the module header for definitions and the empty-mask policy).
 */
export function surfaceDistances(pred: Uint8Array, truth: Uint8Array, shape: Shape3, spacing: Spacing3 = [1, 1, 1]): SurfaceDistances {
  const n = shape[0] * shape[1] * shape[2];
  if (pred.length !== n || truth.length !== n) {
    throw new HypersegError('SHAPE_MISMATCH', `masks must hold ${shape.join('×')} = ${n} voxels, got ${pred.length} and ${truth.length}`);
  }
  const anyP = pred.some((v) => v !== 0);
  const anyT = truth.some((v) => v !== 0);
  if (!anyP || !anyT) {
    const status: SurfaceStatus = !anyP && !anyT ? 'both-empty' : !anyP ? 'empty-prediction' : 'empty-truth';
    const v = status === 'both-empty' ? NaN : Infinity;
    // the non-empty mask's surface is still counted (it read 0, as if both were empty)
    return { hd: v, hd95: v, assd: v, status, predSurface: anyP ? surfaceCount(pred, shape) : 0, truthSurface: anyT ? surfaceCount(truth, shape) : 0 };
  }
  // Cropping to the union's box (+1 voxel) changes no distance and makes large volumes cheap.
  const box = unionBox(pred, truth, shape, 1) as number[];
  const cshape: Shape3 = [box[3] - box[0] + 1, box[4] - box[1] + 1, box[5] - box[2] + 1];
  const ep = maskEdges(crop(pred, shape, box), cshape);
  const et = maskEdges(crop(truth, shape, box), cshape);
  // Surface voxels found in the crop equal those of the full volume: every mask voxel lies at least
  // one voxel inside the crop, except where the crop meets the volume border, which erosion treats
  // as background in both cases.
  const a = directed(ep, et, cshape, spacing);
  const b = directed(et, ep, cshape, spacing);
  let sum = 0;
  for (const v of a) sum += v;
  for (const v of b) sum += v;
  return {
    hd: Math.max(a[a.length - 1], b[b.length - 1]),
    hd95: Math.max(percentile(a, 95), percentile(b, 95)),
    assd: sum / (a.length + b.length),
    status: 'ok',
    predSurface: a.length,
    truthSurface: b.length,
  };
}
