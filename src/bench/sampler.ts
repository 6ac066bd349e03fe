/**
 * Sampler benchmark: multi-scale triplets per second (m = 10, 50³ volumes, one core), ours against
 * the crop-and-resize baseline (naive-sampler.ts) on the same boxes, in the same run. The published
 * sampler (three scikit-image rescales per triplet) makes about 2,000 triplets per second on these
 * machines; that figure is quoted, not measured here.
 */

import { synthVolume } from '../data/synth.js';
import { Rng } from '../random.js';
import type { Box } from '../sampling/resample.js';
import { TripletSampler, allocateTripletBatch } from '../sampling/triplets.js';
import { naiveTriplet } from './naive-sampler.js';

export interface SamplerBenchResult {
  m: number;
  batchSize: number;
  volumes: number;
  ours: { triplets: number; seconds: number; tripletsPerSecond: number };
  naive: { triplets: number; seconds: number; tripletsPerSecond: number };
  speedup: number;
  publishedReference: { tripletsPerSecond: number; ratio: number; note: string };
}

export function benchSampler(options: { m?: number; batchSize?: number; seconds?: number; seed?: number } = {}): SamplerBenchResult {
  const m = options.m ?? 10;
  const batchSize = options.batchSize ?? 128;
  const budget = options.seconds ?? 2;
  const seed = options.seed ?? 0;
  const volumes = Array.from({ length: 4 }, (_, i) => {
    const v = synthVolume(i, seed);
    return { data: v.image, shape: v.shape };
  });
  const sampler = new TripletSampler(volumes, { m }, new Rng(seed));
  const batch = allocateTripletBatch(batchSize, m);
  sampler.fill(batch); // warm-up
  let triplets = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < budget * 1000) {
    sampler.fill(batch);
    triplets += batchSize;
  }
  const oursSeconds = (performance.now() - t0) / 1000;

  // Baseline on the boxes of the last batch, repeated.
  const boxes: { v: number; boxes: Box[] }[] = [];
  for (let b = 0; b < batchSize; b++) {
    const o = b * 18;
    const box = (r: number): Box => ({
      start: [batch.boxes[o + r * 6], batch.boxes[o + r * 6 + 1], batch.boxes[o + r * 6 + 2]],
      size: [batch.boxes[o + r * 6 + 3], batch.boxes[o + r * 6 + 4], batch.boxes[o + r * 6 + 5]],
    });
    boxes.push({ v: batch.volume[b], boxes: [box(0), box(1), box(2)] });
  }
  let naiveCount = 0;
  const t1 = performance.now();
  while (performance.now() - t1 < budget * 1000) {
    const t = boxes[naiveCount % batchSize];
    naiveTriplet(volumes[t.v], t.boxes, m);
    naiveCount++;
  }
  const naiveSeconds = (performance.now() - t1) / 1000;
  const oursRate = triplets / oursSeconds;
  const naiveRate = naiveCount / naiveSeconds;
  return {
    m, batchSize, volumes: volumes.length,
    ours: { triplets, seconds: oursSeconds, tripletsPerSecond: oursRate },
    naive: { triplets: naiveCount, seconds: naiveSeconds, tripletsPerSecond: naiveRate },
    speedup: oursRate / naiveRate,
    publishedReference: { tripletsPerSecond: 2000, ratio: oursRate / 2000, note: 'quoted figure for the published sampler (three scikit-image rescales per triplet); not measured in this run' },
  };
}
