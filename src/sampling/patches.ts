/**
 * Per-voxel inference patches for the per-patch path (the literal definition of the paper's
 * inference): for each voxel v, the p³ box centred on v (start = v + 0.5 − p/2 per axis) resampled
 * to m³ with the convention of resample.ts. Border voxels: the box extends past the volume and the
 * clamped samples repeat the border voxels (edge padding), exactly as the dense path does.
 *
 * Batches are written into one reused Float32Array laid out [B, 1, m, m, m].
 */

import { HypersegError } from '../errors.js';
import { type Grid, boxScratch, resampleBox, voxelBox } from './resample.js';

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
  for (let first = 0; first < total; first += batchSize) {
    batch.count = Math.min(batchSize, total - first);
    for (let b = 0; b < batch.count; b++) {
      const idx = voxels ? voxels[first + b] : first + b;
      const x = idx % nx;
      const y = Math.floor(idx / nx) % ny;
      const z = Math.floor(idx / (nx * ny));
      if (z >= nz || idx < 0) throw new HypersegError('INVALID_ARGUMENT', `voxel index ${idx} is outside the ${nx}×${ny}×${nz} volume`);
      batch.voxels[b] = idx;
      resampleBox(grid, voxelBox(x, y, z, p), m, batch.patches, b * per, scratch);
    }
    yield batch;
  }
}
