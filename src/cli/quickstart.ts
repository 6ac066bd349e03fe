/** `hyperseg quickstart` and `hyperseg ablate`: whole experiments (src/pipeline/experiments.ts). */

import { relative } from 'node:path';
import type { Command } from 'commander';
import type { BackendName, ModelConfig } from '../backends/index.js';
import type { Engine } from '../backends/tfjs/engine.js';
import { QUICKSTART_JITTER, QUICKSTART_STEPS, QUICKSTART_THREADS, ablate, quickstart } from '../pipeline/experiments.js';
import { CENTROIDS, type Centroid } from '../cluster/kmeans.js';
import { formatMeanSd, oneVolume } from '../pipeline/report.js';
import { progressBar } from './progress.js';
import { action, addReadOptions, interruptible, parseChoice, parseIntList, parseIntOption, parseJitter, type ReadFlags, readConfigArg, readOptionsOf, toJson } from './run.js';
import { addComputeOptions } from './compute.js';

const rel = (p: string) => relative(process.cwd(), p) || '.';

interface QuickFlags {
  device?: string;
  workers?: string[];
  out: string;
  backend: BackendName;
  engine?: Engine;
  count: number;
  steps?: number;
  batch?: number;
  seed?: number;
  centroid?: Centroid;
  intensityJitter?: [number, number];
  threads?: number;
  json?: boolean;
  verbose?: boolean;
}

export function registerQuickstart(program: Command): void {
  addComputeOptions(program.command('quickstart'), `${QUICKSTART_THREADS}, the README figures' count: another orders torch's sums otherwise and trains another run`)
    .description('the main job: synthetic data → train → segment (k = 2, 4, 8) → evaluate → report and pictures; re-run to continue after an interruption')
    .option('--out <dir>', 'output folder', 'hyperseg-quickstart')
    .option('--count <n>', 'synthetic volumes (split 2/3 train, 1/6 val, 1/6 test)', parseIntOption('--count', 6, 10_000), 30)
    .option('--steps <n>', `train steps (default ${QUICKSTART_STEPS.torch} on torch; on tfjs ${QUICKSTART_STEPS.tfjsNative} with the native engine, ${QUICKSTART_STEPS.tfjsJs} on wasm/cpu)`, parseIntOption('--steps', 1, 10_000_000))
    .option('--batch <n>', 'triplets per step (default 32; a re-run keeps the run\'s)', parseIntOption('--batch', 2, 65_536))
    .option('--seed <s>', 'random seed (default 0; a re-run keeps the run\'s)', parseIntOption('--seed', 0))
    .option('--centroid <c>', 'cluster centres: mean (k-means, the method\'s) | median (k-medians; see README)', parseChoice('--centroid', CENTROIDS))
    .option('--intensity-jitter <gain,offset>', `the sampler's per-patch intensity jitter (default ${QUICKSTART_JITTER.join(',')}; 0,0: off, as DESIGN's method and ablate; a re-run keeps the run's)`, parseJitter('--intensity-jitter'))
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: QuickFlags) => {
      const stop = interruptible('run the same command again to continue');
      const bar = progressBar('train', !flags.json);
      const say = (line: string) => {
        if (!flags.json) {
          bar.stop();
          process.stderr.write(`${line}\n`);
        }
      };
      try {
        const r = await quickstart({
          out: flags.out, backend: flags.backend, engine: flags.engine, count: flags.count, steps: flags.steps, batch: flags.batch,
          seed: flags.seed, centroid: flags.centroid, jitter: flags.intensityJitter, threads: flags.threads, device: flags.device, workers: flags.workers, signal: stop.signal, onLog: say, onStep: (s, t) => bar.update(s, t),
        });
        bar.stop();
        if (flags.json) {
          process.stdout.write(`${toJson({ ok: r.completed, ...r, train: { steps: r.train.steps, seconds: r.train.seconds, tail: r.train.tail } })}\n`);
        } else if (!r.completed) {
          process.stdout.write(`stopped at training step ${r.train.steps}; run the same command again to continue\n`);
        } else {
          const lines = ['', `Average-class Dice on the test volumes (Hungarian-matched, ${oneVolume(r.aggregates) ? 'one volume' : 'mean ± sd'}):`];
          for (const a of r.aggregates) lines.push(`  ${a.target} (k = ${a.k}): ${formatMeanSd(a.dice)}`);
          lines.push('baselines on the same volumes (levels 1/2/3):');
          for (const b of r.baselines) lines.push(`  ${b.method}: ${b.aggregates.map((a) => a.dice.mean.toFixed(3)).join(' / ')}`);
          lines.push(`time: ${r.seconds.total.toFixed(0)} s (data ${r.seconds.data.toFixed(0)} s, train ${r.seconds.train.toFixed(0)} s, segment ${r.seconds.segment.toFixed(0)} s, evaluate ${r.seconds.evaluate.toFixed(0)} s)`);
          lines.push(`report:   ${rel(r.report)}`);
          if (r.montage) lines.push(`pictures: ${rel(r.montage)}, ${rel(r.disk ?? '')} (and one pair per test volume)`);
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        if (!r.completed) process.exitCode = 130;
      } finally {
        bar.stop();
        stop.dispose();
      }
    }));
}

interface AblateFlags extends ReadFlags {
  device?: string;
  workers?: string[];
  data: string;
  out: string;
  backend: BackendName;
  engine?: Engine;
  preset?: 'small' | 'valid' | 'paper';
  config?: string;
  steps?: number;
  batch?: number;
  seed?: number;
  seeds?: number[];
  threads?: number;
  only?: string[];
  concurrent?: number;
  centroid?: Centroid;
  intensityJitter?: [number, number];
  json?: boolean;
  verbose?: boolean;
}

export function registerAblate(program: Command): void {
  addReadOptions(addComputeOptions(program.command('ablate')))
    .description("the paper's ablation: six configurations trained with the same seed and budget, plus baselines (k-means on raw intensities, on 3³ and 5³ box means of intensity, on a Euclidean autoencoder's codes), scored on the same test split; re-run to continue")
    .requiredOption('--data <dir>', 'a `hyperseg synth` folder (or a BraTS-layout folder)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--preset <name>', 'small | valid | paper (default small; a re-run keeps the folder\'s)', parseChoice('--preset', ['small', 'valid', 'paper'] as const))
    .option('--config <file|json>', 'model settings every run shares, over the preset\'s: a JSON file or inline JSON, e.g. \'{"latent_dim":4}\' (not hyperbolic, gyroconv, triplet, autoencoder; a re-run keeps the folder\'s)')
    .option('--steps <n>', 'train steps per configuration (default: the folder\'s earlier budget, else 1500)', parseIntOption('--steps', 1, 10_000_000))
    .option('--batch <n>', 'triplets per step (default 32; a re-run keeps the folder\'s)', parseIntOption('--batch', 2, 65_536))
    .option('--seed <s>', 'random seed, the same for every configuration (default 0; a re-run keeps the folder\'s)', parseIntOption('--seed', 0))
    .option('--seeds <list>', 'train every configuration once per seed and report mean ± sd over seeds (e.g. 0,1,2; overrides --seed)', parseIntList('--seeds'))
    .option('--only <names...>', 'run only these configurations (e.g. euclidean-base hyperbolic-gyroconv-triplet)')
    .option('--concurrent <n>', 'train up to n runs at once, each in its own process with its own worker, then segment n at once (default 1; on a GPU each run is latency-bound, so several share it almost for free)', parseIntOption('--concurrent', 1, 256))
    .option('--centroid <c>', 'cluster centres for every row, baselines included: mean (k-means, the method\'s) | median (k-medians); a re-run keeps the folder\'s, and another re-clusters without training', parseChoice('--centroid', CENTROIDS))
    .option('--intensity-jitter <gain,offset>', 'the sampler\'s per-patch intensity jitter for every trained run (default 0,0: off, DESIGN\'s sampler, which the paper\'s table measures; the quickstart uses 0.15,0.5; a re-run keeps the folder\'s)', parseJitter('--intensity-jitter'))
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: AblateFlags) => {
      const stop = interruptible('run the same command again to continue');
      try {
        const r = await ablate({
          data: flags.data, read: readOptionsOf(flags), out: flags.out, backend: flags.backend, engine: flags.engine, preset: flags.preset,
          model: flags.config === undefined ? undefined : ((await readConfigArg(flags.config)) as ModelConfig), steps: flags.steps, batch: flags.batch,
          seed: flags.seed, seeds: flags.seeds, threads: flags.threads, device: flags.device, workers: flags.workers, only: flags.only, concurrent: flags.concurrent, centroid: flags.centroid, jitter: flags.intensityJitter, signal: stop.signal,
          onLog: (line) => {
            if (!flags.json) process.stderr.write(`${line}\n`);
          },
        });
        if (flags.json) process.stdout.write(`${toJson({ ok: true, ...r })}\n`);
        else process.stdout.write(`${r.table}\nreport: ${rel(r.report)}\n`);
      } finally {
        stop.dispose();
      }
    }));
}
