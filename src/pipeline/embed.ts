/**
 * Per-voxel embeddings of a whole volume, by either inference path (DESIGN §2):
 *  - per-patch: the literal definition, batches of p³ patches resampled to m³ and encoded;
 *  - dense: the volume resampled once with step p/m and the encoder slid over it by the backend,
 *    in slabs of z-planes so memory stays bounded for BraTS-size volumes. Each slab is resampled
 *    over exactly the samples its voxels' windows cover, so the result equals the per-patch path
 *    (to float rounding) for stride-1 unpadded encoders (presets small and valid). For padded or
 *    strided encoders (the paper's) the torch worker slides a dilated equivalent of the encoder,
 *    an approximation: a patch sees zeros at its border where the volume holds its neighbours.
 */

import type { ComputeBackend } from '../backends/types.js';
import type { ResolvedConfig } from '../backends/config.js';
import { HypersegError } from '../errors.js';
import { voxelPatchBatches } from '../sampling/patches.js';
import { denseWindowOrigin, resampleVolume, type Grid } from '../sampling/resample.js';

export type InferencePath = 'dense' | 'per-patch';

export interface EmbedOptions {
  /** Patch side around each voxel (default m/2: the paper's 5 for m = 10). */
  p?: number;
  path?: InferencePath;
  /** Per-patch batch size (default 1024). */
  batch?: number;
  /** Dense path: memory budget for the largest feature map of one slab, in MiB (default 512). */
  slabMB?: number;
  onProgress?: (done: number, total: number) => void;
  /** Checked between batches and slabs: an aborted signal stops with INTERRUPTED. */
  signal?: AbortSignal;
}

function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new HypersegError('INTERRUPTED', 'embedding stopped');
}

/**
 * The dense path puts every voxel's window on one resampled grid, slid with stride m/p: m/p an integer
 * (p = 1, 2, 5 or 10 for m = 10; when m − m/p is odd the grid is shifted by half a sample, see
 * gridWindowOrigin). Throws naming the sizes that work, and the per-patch path, which takes any p.
 */
export function checkDensePatch(m: number, p: number): void {
  if (Number.isInteger(m / p)) return;
  const ok = Array.from({ length: m }, (_, i) => i + 1).filter((q) => Number.isInteger(m / q));
  throw new HypersegError('INVALID_ARGUMENT', `the dense path cannot use --patch ${p} with this model (m = ${m}): it needs m/p an integer`, {
    suggestion: `use --patch ${ok.length > 1 ? `${ok.slice(0, -1).join(', ')} or ${ok[ok.length - 1]}` : ok[0]}, or --path per-patch (any p, slower)`,
  });
}

/** The inference patch side when none is given: m/2 (the paper's p = 5 for m = 10). */
export function defaultPatch(cfg: ResolvedConfig): number {
  return cfg.m / 2;
}

/** True when the dense path reproduces per-patch inference exactly (stride-1, unpadded encoder). */
export function denseExact(cfg: ResolvedConfig): boolean {
  return cfg.strides.every((s) => s === 1) && cfg.padding === 0;
}

/** Output z-planes per dense slab so that the widest feature map fits `slabMB`. */
export function denseSlabPlanes(shape: readonly [number, number, number], cfg: ResolvedConfig, p: number, slabMB: number): number {
  const step = cfg.m / p;
  const [nx, ny] = shape;
  const sx = step * (nx - 1) + cfg.m;
  const sy = step * (ny - 1) + cfg.m;
  const widest = Math.max(1, ...cfg.enc_channels);
  const perPlane = sx * sy * widest * 4 * step; // bytes per output plane (step samples per plane)
  const fixed = sx * sy * widest * 4 * cfg.m; // the window margin every slab carries
  const planes = Math.floor((slabMB * 2 ** 20 - fixed) / perPlane);
  return Math.max(1, Math.min(shape[2], planes));
}

/**
 * Embeds every voxel of `grid`; returns [N, d] (voxel order x fastest) and the seconds spent.
 * `cfg` is the backend's resolved model configuration.
 */
export async function embedVolume(backend: ComputeBackend, grid: Grid, cfg: ResolvedConfig, options: EmbedOptions = {}): Promise<{ mu: Float32Array; d: number; seconds: number; path: InferencePath; slabs: number; computeSeconds?: number }> {
  const p = options.p ?? defaultPatch(cfg);
  const path = options.path ?? 'dense';
  const d = cfg.latent_dim;
  const [nx, ny, nz] = grid.shape;
  const n = nx * ny * nz;
  if (grid.data.length !== n) throw new HypersegError('SHAPE_MISMATCH', `volume data holds ${grid.data.length} values, shape ${nx}×${ny}×${nz} needs ${n}`);
  const mu = new Float32Array(n * d);
  const t0 = performance.now();
  if (path === 'per-patch') {
    const batch = options.batch ?? 1024;
    let done = 0;
    let compute: number | undefined = 0; // the backend's own forward-pass time, while every reply reports it
    for (const b of voxelPatchBatches(grid, p, cfg.m, batch)) {
      stopIfAborted(options.signal);
      const enc = await backend.encode(b.patches, b.count, cfg.m);
      compute = compute === undefined || enc.computeSeconds === undefined ? undefined : compute + enc.computeSeconds;
      for (let i = 0; i < b.count; i++) for (let t = 0; t < d; t++) mu[b.voxels[i] * d + t] = enc.mu[i * d + t];
      done += b.count;
      options.onProgress?.(done, n);
    }
    return { mu, d, seconds: (performance.now() - t0) / 1000, path, slabs: 0, computeSeconds: compute };
  }
  if (!denseExact(cfg) && backend.name !== 'torch') {
    throw new HypersegError('UNSUPPORTED', `the ${backend.name} backend's dense path needs a stride-1 unpadded encoder (presets small, valid); this model has strides [${cfg.strides.join(', ')}] and padding ${cfg.padding}`, {
      suggestion: 'use --path per-patch for this model, or the torch backend (its dense path approximates padded encoders)',
    });
  }
  checkDensePatch(cfg.m, p);
  const stride = cfg.m / p;
  const planes = denseSlabPlanes(grid.shape, cfg, p, options.slabMB ?? 512);
  const lo0 = denseWindowOrigin(0, p, cfg.m);
  const hiX = denseWindowOrigin(nx - 1, p, cfg.m) + cfg.m;
  const hiY = denseWindowOrigin(ny - 1, p, cfg.m) + cfg.m;
  let slabs = 0;
  for (let z0 = 0; z0 < nz; z0 += planes) {
    stopIfAborted(options.signal);
    const z1 = Math.min(nz, z0 + planes);
    const lo: [number, number, number] = [lo0, lo0, denseWindowOrigin(z0, p, cfg.m)];
    const hi: [number, number, number] = [hiX, hiY, denseWindowOrigin(z1 - 1, p, cfg.m) + cfg.m];
    const dense = resampleVolume(grid, p, cfg.m, lo, hi);
    const [sx, sy, sz] = dense.shape;
    const out = await backend.encodeVolume(dense.data, [sz, sy, sx], stride, 0, [z1 - z0, ny, nx]);
    if (out.length !== (z1 - z0) * ny * nx * d) {
      throw new HypersegError('SHAPE_MISMATCH', `dense encoding returned ${out.length} values for a slab of ${z1 - z0}×${ny}×${nx} voxels × ${d}`);
    }
    mu.set(out, z0 * nx * ny * d);
    slabs++;
    options.onProgress?.(z1 * nx * ny, n);
  }
  return { mu, d, seconds: (performance.now() - t0) / 1000, path, slabs };
}
