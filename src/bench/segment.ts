/**
 * Segmentation benchmark: the dense path against the per-patch path on the same backend and weights,
 * in one run (voxels per second, speed-up, largest embedding difference, k-means label agreement),
 * and one BraTS-size volume through the dense path (time, slabs, peak memory of Node and the worker).
 * The per-patch path is timed on a slab of z-planes (it is linear in the voxel count) and compared
 * with the dense embeddings of the same voxels.
 */

import { createBackend, type BackendName } from '../backends/index.js';
import { denseMacsPerVoxel, embeddingGeometry, patchMacs, resolveModelConfig } from '../backends/config.js';
import type { Engine } from '../backends/tfjs/engine.js';
import { phantomCase, normaliseFlair } from '../data/brats.js';
import { synthVolume } from '../data/synth.js';
import { assignToCentroids } from '../cluster/kmeans.js';
import { defaultPatch, denseExact, embedVolume } from '../pipeline/embed.js';
import { HypersegError } from '../errors.js';
import { clusterEmbeddings, peakRssOf, resolveModel } from '../pipeline/segment.js';

export interface SegmentBenchResult {
  backend: Record<string, unknown>;
  preset: string;
  volume: [number, number, number];
  dense: { voxelsPerSecond: number; seconds: number };
  perPatch: { voxelsPerSecond: number; seconds: number; voxels: number };
  speedup: number;
  /**
   * The per-patch path one patch per request (batch 1), the naive loop, timed on 500 voxels;
   * `computeSeconds`: the part spent in the model's forward calls alone (torch: measured inside the
   * worker), i.e. patch-by-patch encoding in PyTorch with no transport or patch extraction.
   */
  patchAtATime: { voxelsPerSecond: number; seconds: number; voxels: number; computeSeconds?: number; computeVoxelsPerSecond?: number };
  speedupOverPatchAtATime: number;
  /** Dense over the forward calls alone of patch-at-a-time encoding (torch). */
  speedupOverPatchAtATimeCompute?: number;
  /**
   * Multiply-adds per voxel of each path for this volume (p = m/2) and their ratio: the speed-up the
   * dense path would reach if both paths ran at the same multiply-add rate.
   */
  macs: { perPatch: number; dense: number; bound: number };
  maxAbsDifference: number;
  labelAgreement: number;
  brats?: { preset: string; shape: [number, number, number]; seconds: number; slabs: number; voxelsPerSecond: number; nodePeakRssMB: number; workerPeakRssMB: number | null };
}

export async function benchSegment(options: { model?: string; backend?: BackendName; engine?: Engine; preset?: 'small' | 'valid' | 'paper'; planes?: number; brats?: boolean; bratsPreset?: 'small' | 'valid'; threads?: number } = {}): Promise<SegmentBenchResult> {
  const model = options.model ? await resolveModel(options.model) : null;
  const preset = model ? (resolveModelConfig(model.config).preset as 'small' | 'valid' | 'paper') : options.preset ?? 'valid';
  const named = options.backend ?? 'torch';
  if (named !== 'torch' && !denseExact(resolveModelConfig(model ? model.config : { preset }))) {
    // the benchmark compares the two paths; embedVolume's own hint (--path per-patch) is segment's, not bench's
    throw new HypersegError('UNSUPPORTED', `bench segment compares the dense path with the per-patch path, and the ${named} backend has no dense path for a padded or strided encoder (${model ? `the model ${options.model}, preset ${preset}` : `preset ${preset}`})`, {
      suggestion: 'use --backend torch (its dense path approximates padded encoders), or a small or valid model',
    });
  }
  const backend = await createBackend(options.backend ?? 'torch', { engine: options.engine, threads: options.threads });
  try {
    const cfg = resolveModelConfig(model ? model.config : { preset });
    await backend.init(model ? model.config : { preset }, 0);
    if (model) await backend.loadWeights(model.weights);
    const v = synthVolume(0, 0, 50);
    const grid = { data: v.image, shape: v.shape };
    await embedVolume(backend, { data: v.image.subarray(0, 50 * 50 * 4), shape: [50, 50, 4] }, cfg); // warm-up
    const dense = await embedVolume(backend, grid, cfg, { path: 'dense' });
    const planes = options.planes ?? 4;
    const slab = { data: v.image.subarray(0, 50 * 50 * planes), shape: [50, 50, planes] as [number, number, number] };
    // Same voxels, both paths: the slab's own dense embeddings are compared (its border planes see edge padding).
    const slabDense = await embedVolume(backend, slab, cfg, { path: 'dense' });
    const perPatch = await embedVolume(backend, slab, cfg, { path: 'per-patch', batch: 512 });
    const row = { data: v.image.subarray(0, 50 * 10), shape: [50, 10, 1] as [number, number, number] };
    const single = await embedVolume(backend, row, cfg, { path: 'per-patch', batch: 1 });
    const compute = single.computeSeconds;
    const singleVps = row.data.length / single.seconds;
    let maxAbs = 0;
    for (let i = 0; i < perPatch.mu.length; i++) maxAbs = Math.max(maxAbs, Math.abs(perPatch.mu[i] - slabDense.mu[i]));
    // label agreement: one k-means fit (on the per-patch embeddings) labels both paths' embeddings
    const fit = clusterEmbeddings(perPatch.mu, cfg.latent_dim, 4, cfg, { fitSample: 0, nInit: 3 });
    const a = assignToCentroids(slabDense.mu, cfg.latent_dim, fit.centroids, { k: 4, geometry: embeddingGeometry(cfg), c: cfg.curvature });
    let agree = 0;
    for (let i = 0; i < a.labels.length; i++) if (a.labels[i] === fit.labels[i]) agree++;
    const nVox = 50 * 50 * 50;
    const macsPatch = patchMacs(cfg);
    const macsDense = denseMacsPerVoxel(cfg, 50, defaultPatch(cfg));
    const denseVps = nVox / dense.seconds;
    const ppVps = (50 * 50 * planes) / perPatch.seconds;
    const result: SegmentBenchResult = {
      backend: backend.info(), preset, volume: [50, 50, 50],
      dense: { voxelsPerSecond: denseVps, seconds: dense.seconds },
      perPatch: { voxelsPerSecond: ppVps, seconds: perPatch.seconds, voxels: 50 * 50 * planes },
      speedup: denseVps / ppVps,
      patchAtATime: {
        voxelsPerSecond: singleVps, seconds: single.seconds, voxels: row.data.length,
        ...(compute !== undefined ? { computeSeconds: compute, computeVoxelsPerSecond: row.data.length / compute } : {}),
      },
      speedupOverPatchAtATime: denseVps / singleVps,
      ...(compute !== undefined ? { speedupOverPatchAtATimeCompute: denseVps / (row.data.length / compute) } : {}),
      macs: { perPatch: macsPatch, dense: macsDense, bound: macsPatch / macsDense }, maxAbsDifference: maxAbs, labelAgreement: agree / a.labels.length,
    };
    if (options.brats ?? true) {
      const bp = options.bratsPreset ?? 'small';
      const bcfg = resolveModelConfig({ preset: bp });
      if (bp !== preset || model) await backend.init({ preset: bp }, 0);
      const ph = phantomCase(0, 0);
      const { image } = normaliseFlair(Float32Array.from(ph.flair));
      const r = await embedVolume(backend, { data: image, shape: ph.shape }, bcfg, { path: 'dense' });
      const n = ph.shape[0] * ph.shape[1] * ph.shape[2];
      result.brats = {
        preset: bp, shape: ph.shape, seconds: r.seconds, slabs: r.slabs, voxelsPerSecond: n / r.seconds,
        nodePeakRssMB: process.resourceUsage().maxRSS / 1024, workerPeakRssMB: await peakRssOf((backend as { pid?: number }).pid),
      };
    }
    return result;
  } finally {
    await backend.close();
  }
}
