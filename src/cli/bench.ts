/** `hyperseg bench <what>`: benchmarks that print figures (ratios against a baseline in the same run). */

import type { Command } from 'commander';
import { benchBackends } from '../bench/backends.js';
import { benchClustering } from '../bench/clustering.js';
import { benchSampler } from '../bench/sampler.js';
import { benchSegment } from '../bench/segment.js';
import { benchTrain, benchTransport } from '../bench/worker.js';
import { HypersegError } from '../errors.js';
import { action, parseChoice, parseIntOption, toJson } from './run.js';

interface ClusteringFlags {
  n: number;
  k: number;
  d: number;
  nInit: number;
  seed: number;
  iterations: number;
  json?: boolean;
  verbose?: boolean;
}

interface SamplerFlags {
  m: number;
  batch: number;
  seconds: number;
  seed: number;
  json?: boolean;
  verbose?: boolean;
}

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('benchmarks (figures printed, baselines measured in the same run)');
  bench
    .command('clustering')
    .description('hyperbolic k-means vs a naive baseline: seconds per iteration, inertia, full fit')
    .option('--n <n>', 'points', parseIntOption('--n', 16), 125_000)
    .option('--k <k>', 'clusters', parseIntOption('--k', 1), 8)
    .option('--d <d>', 'dimension of the ball', parseIntOption('--d', 1), 2)
    .option('--n-init <n>', 'restarts of the full fit', parseIntOption('--n-init', 1), 10)
    .option('--seed <s>', 'random seed', parseIntOption('--seed', 0), 0)
    .option('--iterations <t>', 'k-means iterations timed for both implementations', parseIntOption('--iterations', 1), 5)
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action((flags: ClusteringFlags) => {
      const r = benchClustering({ n: flags.n, k: flags.k, d: flags.d, nInit: flags.nInit, seed: flags.seed, iterations: flags.iterations });
      if (flags.json) {
        process.stdout.write(`${toJson(r)}\n`);
        return;
      }
      const ms = (s: number): string => `${(s * 1000).toFixed(2)} ms`;
      process.stdout.write([
        `hyperbolic k-means, ${r.n} points in the ${r.d}-D ball, k = ${r.k} (${r.iterationsTimed} iterations timed)`,
        `  ours:  ${ms(r.ours.secondsPerIteration)} per iteration, inertia ${r.ours.inertia.toPrecision(8)}`,
        `  naive: ${ms(r.naive.secondsPerIteration)} per iteration, inertia ${r.naive.inertia.toPrecision(8)}`,
        `  speed-up ${r.speedupPerIteration.toFixed(1)}×, inertia difference ${(100 * r.inertiaRelativeDifference).toFixed(4)}%`,
        `  full fit (${r.fullFit.restarts} restarts): ${r.fullFit.seconds.toFixed(2)} s, inertia ${r.fullFit.inertia.toPrecision(8)}`,
        `  vs the published code's quoted ${r.paperReference.secondsPerIterationAt12500} s/iteration at 12,500 points (≈ ${r.paperReference.extrapolatedSecondsPerIteration.toFixed(1)} s at ${r.n}): ${r.paperReference.speedup.toFixed(0)}× (quoted, not measured)`,
      ].join('\n') + '\n');
    }));
  bench
    .command('sampler')
    .description('multi-scale triplets per second on one core vs a crop-and-resize baseline')
    .option('--m <m>', 'model input side', parseIntOption('--m', 2, 64), 10)
    .option('--batch <b>', 'triplets per batch', parseIntOption('--batch', 1, 65_536), 128)
    .option('--seconds <s>', 'time budget per implementation', parseIntOption('--seconds', 1, 600), 2)
    .option('--seed <s>', 'random seed', parseIntOption('--seed', 0), 0)
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action((flags: SamplerFlags) => {
      const floats = 3 * flags.batch * flags.m ** 3; // anchor, positive, negative per triplet
      if (floats > 2 ** 28) throw new HypersegError('INVALID_ARGUMENT', `--batch ${flags.batch} with --m ${flags.m} needs ${floats.toExponential(2)} floats per batch (over 1 GiB); lower one of them`);
      const r = benchSampler({ m: flags.m, batchSize: flags.batch, seconds: flags.seconds, seed: flags.seed });
      if (flags.json) {
        process.stdout.write(`${toJson(r)}\n`);
        return;
      }
      process.stdout.write([
        `multi-scale triplets, m = ${r.m}, batches of ${r.batchSize}, one core`,
        `  ours:  ${r.ours.tripletsPerSecond.toFixed(0)} triplets/s`,
        `  crop-and-resize baseline: ${r.naive.tripletsPerSecond.toFixed(0)} triplets/s (same boxes)`,
        `  speed-up ${r.speedup.toFixed(1)}×; ${r.publishedReference.ratio.toFixed(1)}× the published sampler's quoted ${r.publishedReference.tripletsPerSecond}/s (not measured)`,
      ].join('\n') + '\n');
    }));
  bench
    .command('transport')
    .description('patch batches TypeScript → torch worker → TypeScript vs a memory copy of the same bytes')
    .option('--sizes <mb>', 'batch sizes in MB, comma-separated', '0.25,1,4,16,64')
    .option('--seconds <s>', 'time per size and method', parseIntOption('--seconds', 1, 600), 1)
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: { sizes: string; seconds: number; json?: boolean }) => {
      const sizes = flags.sizes.split(',').map(Number);
      if (sizes.some((v) => !(v > 0 && v <= 1024))) throw new HypersegError('INVALID_ARGUMENT', `--sizes must be MB values in (0, 1024], got '${flags.sizes}'`);
      const r = await benchTransport({ sizesMB: sizes, seconds: flags.seconds });
      if (flags.json) {
        process.stdout.write(`${toJson(r)}\n`);
        return;
      }
      process.stdout.write(['batch MB   round trips   transport MB/s   memcpy MB/s   ratio',
        ...r.rows.map((x) => `${String(x.megabytes).padEnd(10)} ${String(x.roundTrips).padEnd(13)} ${x.transportMBps.toFixed(0).padEnd(16)} ${x.memcpyMBps.toFixed(0).padEnd(13)} ${x.ratio.toFixed(2)}`)].join('\n') + '\n');
    }));
  bench
    .command('train')
    .description('train steps per second driven from TypeScript vs the same steps in a Python loop in the worker')
    .option('--preset <p>', 'small | valid | paper', parseChoice('--preset', ['small', 'valid', 'paper'] as const), 'small')
    .option('--batch <b>', 'triplets per step', parseIntOption('--batch', 1, 65_536), 32)
    .option('--steps <n>', 'steps timed', parseIntOption('--steps', 2), 20)
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: { preset: 'small' | 'valid' | 'paper'; batch: number; steps: number; json?: boolean }) => {
      const r = await benchTrain({ preset: flags.preset, batch: flags.batch, steps: flags.steps });
      if (flags.json) {
        process.stdout.write(`${toJson(r)}\n`);
        return;
      }
      process.stdout.write([
        `${r.preset} preset, ${r.batch} triplets per step, ${r.steps} steps (torch ${String(r.worker.torch)}, ${String(r.worker.threads)} threads)`,
        `  driven from TypeScript: ${r.typescript.stepsPerSecond.toFixed(2)} steps/s`,
        `  Python loop in the worker: ${r.python.stepsPerSecond.toFixed(2)} steps/s`,
        `  orchestration overhead: ${(100 * r.overhead).toFixed(1)}% of a step`,
      ].join('\n') + '\n');
    }));
  bench
    .command('backends')
    .description('train steps/s and encoded patches/s for torch and each TensorFlow.js engine, with ratios to torch')
    .option('--preset <p>', 'small | valid | paper', parseChoice('--preset', ['small', 'valid', 'paper'] as const), 'small')
    .option('--batch <b>', 'triplets per train step', parseIntOption('--batch', 1, 65_536), 16)
    .option('--steps <n>', 'train steps timed per tfjs engine (torch: 4×)', parseIntOption('--steps', 1), 3)
    .option('--encode <n>', 'patches encoded', parseIntOption('--encode', 8), 256)
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: { preset: 'small' | 'valid' | 'paper'; batch: number; steps: number; encode: number; json?: boolean }) => {
      const r = await benchBackends({ preset: flags.preset, batch: flags.batch, steps: flags.steps, encode: flags.encode });
      if (flags.json) {
        process.stdout.write(`${toJson(r)}\n`);
        return;
      }
      process.stdout.write([`${r.preset} preset, ${r.batch} triplets per step`, 'backend  engine                               train steps/s  ×torch     patches/s  ×torch',
        ...r.rows.map((x) => `${x.backend.padEnd(8)} ${x.engine.padEnd(36)} ${x.trainStepsPerSecond.toFixed(3).padEnd(14)} ${x.trainRatioToTorch.toFixed(4).padEnd(10)} ${x.encodePatchesPerSecond.toFixed(1).padEnd(10)} ${x.encodeRatioToTorch.toFixed(4)}`)].join('\n') + '\n');
    }));
  bench
    .command('segment')
    .description('dense vs per-patch inference on a 50³ volume (same backend and weights): voxels/s, speed-up, agreement; and one BraTS-size volume: time and peak memory')
    .option('--backend <name>', 'torch | tfjs', parseChoice('--backend', ['torch', 'tfjs'] as const), 'torch')
    .option('--preset <p>', 'small | valid (dense = per-patch exactly) | paper (padded: dense approximates; torch only)', parseChoice('--preset', ['small', 'valid', 'paper'] as const), 'valid')
    .option('--model <path>', 'trained weights (a run folder or .safetensors) instead of a seeded initialisation')
    .option('--planes <n>', 'z-planes of the 50³ volume timed on the per-patch path', parseIntOption('--planes', 1, 50), 4)
    .option('--brats-preset <p>', 'preset for the BraTS-size volume', parseChoice('--brats-preset', ['small', 'valid'] as const), 'small')
    .option('--no-brats', 'skip the BraTS-size volume')
    .option('--threads <n>', 'torch threads', parseIntOption('--threads', 1, 1024))
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: { model?: string; backend: 'torch' | 'tfjs'; preset: 'small' | 'valid' | 'paper'; planes: number; bratsPreset: 'small' | 'valid'; brats: boolean; threads?: number; json?: boolean }) => {
      const r = await benchSegment({ model: flags.model, backend: flags.backend, preset: flags.preset, planes: flags.planes, brats: flags.brats, bratsPreset: flags.bratsPreset, threads: flags.threads });
      if (flags.json) {
        process.stdout.write(`${toJson(r)}\n`);
        return;
      }
      const lines = [
        `${r.preset} preset on ${String(r.backend.backend)}, 50³ volume`,
        `  dense:     ${r.dense.voxelsPerSecond.toFixed(0)} voxels/s (${r.dense.seconds.toFixed(2)} s for the volume)`,
        `  per-patch: ${r.perPatch.voxelsPerSecond.toFixed(0)} voxels/s (${r.perPatch.voxels} voxels timed)`,
        `  per-patch, one patch per request: ${r.patchAtATime.voxelsPerSecond.toFixed(0)} voxels/s (${r.patchAtATime.voxels} voxels timed)${r.patchAtATime.computeVoxelsPerSecond !== undefined ? `; its forward calls alone: ${r.patchAtATime.computeVoxelsPerSecond.toFixed(0)} voxels/s` : ''}`,
        `  speed-up ${r.speedup.toFixed(1)}× over batched per-patch, ${r.speedupOverPatchAtATime.toFixed(1)}× over one patch per request${r.speedupOverPatchAtATimeCompute !== undefined ? ` (${r.speedupOverPatchAtATimeCompute.toFixed(1)}× over its forward calls alone)` : ''}`,
        `  multiply-adds per voxel: per-patch ${(r.macs.perPatch / 1e6).toFixed(2)} M, dense ${(r.macs.dense / 1e6).toFixed(2)} M, a bound of ${r.macs.bound.toFixed(1)}× at equal arithmetic rates`,
        `  largest embedding difference ${r.maxAbsDifference.toExponential(2)}; k-means (k = 4) label agreement ${(100 * r.labelAgreement).toFixed(2)}%`,
      ];
      if (r.brats) {
        lines.push(`BraTS-size ${r.brats.shape.join('×')} volume, ${r.brats.preset} preset, dense path: ${r.brats.seconds.toFixed(1)} s (${r.brats.voxelsPerSecond.toFixed(0)} voxels/s, ${r.brats.slabs} slabs); peak memory Node ${r.brats.nodePeakRssMB.toFixed(0)} MiB, worker ${r.brats.workerPeakRssMB === null ? 'n/a' : `${r.brats.workerPeakRssMB.toFixed(0)} MiB`}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    }));
}
