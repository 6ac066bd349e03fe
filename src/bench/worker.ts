/**
 * Worker benchmarks, each against a baseline measured in the same run:
 *  - transport: patch batches TypeScript → worker → TypeScript (the `echo` operation, zero-copy
 *    frames both ways) against a plain memory copy of the same bytes, per batch size;
 *  - train: train steps per second driven from TypeScript (sampling the next batch while the worker
 *    computes the current one) against the same steps in a Python loop inside the worker.
 */

import { TorchBackend } from '../backends/torch/backend.js';
import { synthVolume } from '../data/synth.js';
import { TensorFrame } from '../protocol/codec.js';
import { Rng } from '../random.js';
import { TripletSampler, allocateTripletBatch } from '../sampling/triplets.js';

export interface TransportRow {
  megabytes: number;
  roundTrips: number;
  /** Bytes moved per second, counting both directions. */
  transportMBps: number;
  memcpyMBps: number;
  ratio: number;
}

async function timeLoop(seconds: number, body: () => Promise<void> | void): Promise<{ n: number; s: number }> {
  await body(); // warm-up
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000 || n < 3) {
    await body();
    n++;
  }
  return { n, s: (performance.now() - t0) / 1000 };
}

export async function benchTransport(options: { sizesMB?: number[]; seconds?: number } = {}): Promise<{ rows: TransportRow[]; worker: Record<string, unknown> }> {
  const sizes = options.sizesMB ?? [0.25, 1, 4, 16, 64];
  const seconds = options.seconds ?? 1;
  const backend = await TorchBackend.start({ threads: 1 });
  const rows: TransportRow[] = [];
  try {
    for (const mb of sizes) {
      const n = Math.round((mb * 2 ** 20) / 4);
      const frame = TensorFrame.allocate('patches', 'float32', [n]);
      frame.data.fill(1.5);
      const t = await timeLoop(seconds, async () => {
        await backend.echo([frame]);
      });
      const src = Buffer.from(frame.bytes.buffer, frame.bytes.byteOffset, frame.bytes.byteLength);
      const dst = Buffer.allocUnsafe(src.length);
      const c = await timeLoop(seconds, () => {
        src.copy(dst); // one copy each way, as a round trip moves the bytes twice
        dst.copy(src);
      });
      const bytes = 2 * frame.bytes.byteLength;
      const transport = (bytes * t.n) / t.s / 2 ** 20;
      const memcpy = (bytes * c.n) / c.s / 2 ** 20;
      rows.push({ megabytes: mb, roundTrips: t.n, transportMBps: transport, memcpyMBps: memcpy, ratio: transport / memcpy });
    }
    return { rows, worker: backend.info() };
  } finally {
    await backend.close();
  }
}

export interface TrainBenchResult {
  preset: string;
  batch: number;
  steps: number;
  typescript: { stepsPerSecond: number; seconds: number };
  python: { stepsPerSecond: number; seconds: number };
  /** Share of a TypeScript-driven step not spent in the worker's own step: 1 − python/typescript time. */
  overhead: number;
  worker: Record<string, unknown>;
}

export async function benchTrain(options: { preset?: 'small' | 'valid' | 'paper'; batch?: number; steps?: number; threads?: number } = {}): Promise<TrainBenchResult> {
  const preset = options.preset ?? 'small';
  const batch = options.batch ?? 32;
  const steps = options.steps ?? 20;
  const backend = await TorchBackend.start({ threads: options.threads });
  try {
    await backend.init({ preset }, 0);
    const vols = [0, 1].map((i) => {
      const v = synthVolume(i, 0);
      return { data: v.image, shape: v.shape };
    });
    const sampler = new TripletSampler(vols, {}, new Rng(0));
    const ring = [allocateTripletBatch(batch, 10, true), allocateTripletBatch(batch, 10, true)];
    sampler.fill(ring[0]);
    await backend.trainStep(ring[0]); // warm-up
    const t0 = performance.now();
    let pending = backend.trainStep(ring[0]);
    for (let i = 1; i < steps; i++) {
      sampler.fill(ring[i % 2]); // overlaps with the worker's step on the other buffer
      await pending;
      pending = backend.trainStep(ring[i % 2]);
    }
    await pending;
    const tsSeconds = (performance.now() - t0) / 1000;
    const py = await backend.benchTrain(steps, batch);
    return {
      preset, batch, steps,
      typescript: { stepsPerSecond: steps / tsSeconds, seconds: tsSeconds },
      python: { stepsPerSecond: steps / py.seconds, seconds: py.seconds },
      overhead: 1 - py.seconds / tsSeconds,
      worker: backend.info(),
    };
  } finally {
    await backend.close();
  }
}
