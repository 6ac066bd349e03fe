/**
 * Per-voxel inference patches for the per-patch path (the literal definition of the paper's
 * inference): for each voxel v, the p³ box centred on v (start = v + 0.5 − p/2 per axis) resampled
 * to m³ with the convention of resample.ts. Border voxels: the box extends past the volume and the
 * clamped samples repeat the border voxels (edge padding), exactly as the dense path does.
 *
 * When the voxel windows lie on the grid of the whole volume resampled with step p/m (p = 5, m = 10
 * among others: see resample.ts), sample positions are computed in that grid's form, so a patch is
 * bit for bit the matching window of the dense path's input.
 *
 * Batches are written into one reused Float32Array laid out [B, 1, m, m, m].
 */

import { HypersegError } from '../errors.js';
import { type Grid, boxScratch, fillAxis, fillAxisOnGrid, gridWindowOrigin, sampleTables } from './resample.js';

export interface PatchBatch {
  /** [count, 1, m, m, m] valid values at the front of a [B, 1, m, m, m] buffer. */
  patches: Float32Array;
  /** Number of patches in this batch (≤ B). */
  count: number;
  /** Linear voxel index (x + nx·(y + ny·z)) of each patch. */
  voxels: Int32Array;
}

/**
 * Yields batches of per-voxel patches for `voxels` (linear indices; default every voxel in order),
 * reusing one buffer: the consumer must be done with a batch before asking for the next.
 */
export function* voxelPatchBatches(grid: Grid, p: number, m: number, batchSize: number, voxels?: Int32Array): Generator<PatchBatch> {
  if (!(p > 0) || !Number.isInteger(m) || m < 1) throw new HypersegError('INVALID_ARGUMENT', `need p > 0 and integer m ≥ 1, got p = ${p}, m = ${m}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new HypersegError('INVALID_ARGUMENT', `batch size must be an integer ≥ 1, got ${batchSize}`);
  const [nx, ny, nz] = grid.shape;
  const total = voxels ? voxels.length : nx * ny * nz;
  const per = m * m * m;
  const batch: PatchBatch = { patches: new Float32Array(batchSize * per), count: 0, voxels: new Int32Array(batchSize) };
  const scratch = boxScratch(m);
  const step = p / m;
  const axis = (t: typeof scratch.x, v: number, n: number): void => {
    const j0 = gridWindowOrigin(v, p, m);
    if (j0 !== null) fillAxisOnGrid(t, j0, step, m, n);
    else fillAxis(t, v + 0.5 - p / 2, step, m, n);
  };
  for (let first = 0; first < total; first += batchSize) {
    batch.count = Math.min(batchSize, total - first);
    for (let b = 0; b < batch.count; b++) {
      const idx = voxels ? voxels[first + b] : first + b;
      const x = idx % nx;
      const y = Math.floor(idx / nx) % ny;
      const z = Math.floor(idx / (nx * ny));
      if (z >= nz || idx < 0) throw new HypersegError('INVALID_ARGUMENT', `voxel index ${idx} is outside the ${nx}×${ny}×${nz} volume`);
      batch.voxels[b] = idx;
      axis(scratch.x, x, nx);
      axis(scratch.y, y, ny);
      axis(scratch.z, z, nz);
      sampleTables(grid, scratch.x, scratch.y, scratch.z, m, m, m, batch.patches, b * per);
    }
    yield batch;
  }
}
