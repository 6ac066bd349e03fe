/**
 * Backends benchmark: train steps per second and encoded patches per second for the torch backend
 * and each TensorFlow.js engine, on the same preset, batch and inputs, in one run; ratios to torch.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxEncoder } from '../backends/onnx/encoder.js';
import { TfjsBackend } from '../backends/tfjs/backend.js';
import { type Engine, availableEngines } from '../backends/tfjs/engine.js';
import { TorchBackend } from '../backends/torch/backend.js';
import type { ComputeBackend } from '../backends/types.js';
import { synthVolume } from '../data/synth.js';
import { Rng } from '../random.js';
import { TripletSampler, allocateTripletBatch } from '../sampling/triplets.js';

export interface BackendRow {
  backend: string;
  engine: string;
  trainStepsPerSecond: number;
  encodePatchesPerSecond: number;
  trainRatioToTorch: number;
  encodeRatioToTorch: number;
}

async function measure(b: ComputeBackend, preset: 'small' | 'valid' | 'paper', batch: number, steps: number, encodeCount: number) {
  await b.init({ preset }, 0);
  const v = synthVolume(0, 0);
  const sampler = new TripletSampler([{ data: v.image, shape: v.shape }], {}, new Rng(0));
  const tb = allocateTripletBatch(batch, 10);
  sampler.fill(tb);
  await b.trainStep(tb); // warm-up
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) await b.trainStep(tb);
  const train = steps / ((performance.now() - t0) / 1000);
  const patches = new Float32Array(encodeCount * 1000);
  for (let i = 0; i < patches.length; i++) patches[i] = tb.anchor[i % tb.anchor.length];
  await b.encode(patches, Math.min(encodeCount, 8), 10);
  t0 = performance.now();
  await b.encode(patches, encodeCount, 10);
  const enc = encodeCount / ((performance.now() - t0) / 1000);
  return { train, enc };
}

export async function benchBackends(options: { preset?: 'small' | 'valid' | 'paper'; batch?: number; steps?: number; encode?: number } = {}): Promise<{ preset: string; batch: number; rows: BackendRow[] }> {
  const preset = options.preset ?? 'small';
  const batch = options.batch ?? 16;
  const steps = options.steps ?? 3;
  const encodeCount = options.encode ?? 256;
  const rows: BackendRow[] = [];
  const torch = await TorchBackend.start({ threads: 2 });
  let ref: { train: number; enc: number };
  const dir = mkdtempSync(join(tmpdir(), 'hyperseg-bench-'));
  try {
    ref = await measure(torch, preset, batch, steps * 4, encodeCount);
    rows.push({ backend: 'torch', engine: `torch ${String(torch.info().torch)} (cpu, 2 threads)`, trainStepsPerSecond: ref.train, encodePatchesPerSecond: ref.enc, trainRatioToTorch: 1, encodeRatioToTorch: 1 });
    // ONNX Runtime: inference only, the encoder exported from the torch model's weights
    await torch.exportOnnx(join(dir, 'encoder.onnx'));
    const onnx = await OnnxEncoder.load(join(dir, 'encoder.onnx'), 2);
    const patches = new Float32Array(encodeCount * 1000).map((_, i) => Math.sin(i * 0.001));
    await onnx.encode(patches, 8, 10);
    const t0 = performance.now();
    await onnx.encode(patches, encodeCount, 10);
    const enc = encodeCount / ((performance.now() - t0) / 1000);
    rows.push({ backend: 'onnx', engine: 'onnxruntime-node (cpu, 2 threads)', trainStepsPerSecond: NaN, encodePatchesPerSecond: enc, trainRatioToTorch: NaN, encodeRatioToTorch: enc / ref.enc });
  } finally {
    await torch.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const engine of (await availableEngines()) as Engine[]) {
    const b = await TfjsBackend.start({ engine });
    try {
      const r = await measure(b, preset, batch, steps, encodeCount);
      rows.push({ backend: 'tfjs', engine, trainStepsPerSecond: r.train, encodePatchesPerSecond: r.enc, trainRatioToTorch: r.train / ref.train, encodeRatioToTorch: r.enc / ref.enc });
    } finally {
      await b.close();
    }
  }
  return { preset, batch, rows };
}
