/** `hyperseg train`: the TypeScript training loop (src/pipeline/train.ts) from the command line. */

import type { Command } from 'commander';
import type { BackendName, ModelConfig } from '../backends/index.js';
import type { Engine } from '../backends/tfjs/engine.js';
import { HypersegError } from '../errors.js';
import { train } from '../pipeline/train.js';
import { addComputeOptions } from './compute.js';
import { progressBar } from './progress.js';
import { action, addReadOptions, interruptible, parseChoice, parseIntOption, parseJitter, parseRange, type ReadFlags, readConfigArg, readOptionsOf, toJson } from './run.js';


/** Model configuration from --preset and --config FILE|JSON (a JSON object of model keys). */
export async function modelFromFlags(flags: { preset?: string; config?: string }): Promise<ModelConfig | undefined> {
  let model: ModelConfig | undefined;
  if (flags.config) model = (await readConfigArg(flags.config)) as ModelConfig;
  if (flags.preset) model = { ...(model ?? {}), preset: flags.preset as ModelConfig['preset'] };
  return model;
}

interface TrainFlags extends ReadFlags {
  device?: string;
  workers?: string[];
  data?: string[];
  out?: string;
  resume?: string;
  backend: BackendName;
  engine?: Engine;
  preset?: string;
  config?: string;
  seed?: number;
  steps?: number;
  batch?: number;
  checkpointEvery?: number;
  keep: number;
  threads?: number;
  maxVolumes?: number;
  anchorSizes?: [number, number];
  childSizes?: [number, number];
  anchorScale?: 'uniform' | 'log';
  intensityJitter?: [number, number];
  localWorkers?: number;
  dataParallel?: boolean;
  force?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function registerTrain(program: Command): void {
  addReadOptions(addComputeOptions(program.command('train')))
    .description('train the VAE on multi-scale triplets: metrics as JSONL, atomic checkpoints, exact --resume; Ctrl-C leaves a resumable run')
    .option('--data <paths...>', 'a `hyperseg synth` folder, a BraTS-layout folder, or NIfTI files / a folder of them')
    .option('--out <dir>', 'run folder to create')
    .option('--resume <dir>', 'continue the run in DIR from its last checkpoint (same data, model and seed)')
    .option('--preset <name>', 'small | valid | paper (default small)', parseChoice('--preset', ['small', 'valid', 'paper'] as const))
    .option('--config <file|json>', 'model configuration: a JSON file or inline JSON, e.g. \'{"latent_dim":4}\' (preset and overrides: hyperbolic, gyroconv, triplet, beta, lr, ...)')
    .option('--seed <s>', 'random seed (model, sampler, noise) (default 0)', parseIntOption('--seed', 0))
    .option('--steps <n>', 'train steps (default 1000; with --resume: extend the run to n steps)', parseIntOption('--steps', 1, 10_000_000))
    .option('--batch <n>', 'triplets per step (default 32)', parseIntOption('--batch', 2, 65_536))
    .option('--checkpoint-every <n>', 'steps between checkpoints (default steps/4, at most 500)', parseIntOption('--checkpoint-every', 1))
    .option('--keep <n>', 'checkpoints kept', parseIntOption('--keep', 1, 1000), 2)
    .option('--max-volumes <n>', 'cap on training volumes held in memory', parseIntOption('--max-volumes', 1))
    .option('--anchor-sizes <min,max>', 'anchor sides in voxels, [min, max) (default 5,35 for 50³ volumes, up to 120 for large ones)', parseRange('--anchor-sizes'))
    .option('--child-sizes <min,max>', 'positive/negative child sides, [min, max) (default 3,15; also capped at anchor side − 1)', parseRange('--child-sizes'))
    .option('--anchor-scale <d>', 'anchor side distribution: uniform | log (default uniform, log for large volumes)', parseChoice('--anchor-scale', ['uniform', 'log'] as const))
    .option('--intensity-jitter <gain,offset>', 'per patch: gain U(1 − gain, 1 + gain) about the volume mean, offset U(−offset, offset) volume standard deviations (default off; the quickstart uses 0.15,0.5)', parseJitter('--intensity-jitter'))
    .option('--local-workers <n>', 'torch: local workers to start (default 1)', parseIntOption('--local-workers', 1, 64))
    .option('--data-parallel', 'torch: every worker of the pool trains on a shard of each batch (torch.distributed; needs ≥ 2 workers)')
    .option('--force', 'replace an existing run in --out')
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: TrainFlags) => {
      if (!flags.resume && !flags.out) throw new HypersegError('INVALID_ARGUMENT', 'pass --out RUN (a new run) or --resume RUN');
      if (flags.resume && flags.out) throw new HypersegError('INVALID_ARGUMENT', '--resume continues a run in place; do not pass --out with it');
      const model = await modelFromFlags(flags);
      const stop = interruptible('continue with hyperseg train --resume RUN');
      const bar = progressBar('train', !flags.json);
      try {
        const s = await train({
          data: flags.data, read: readOptionsOf(flags), out: (flags.resume ?? flags.out) as string, resume: flags.resume !== undefined, backend: flags.backend, engine: flags.engine,
          model, seed: flags.seed, steps: flags.steps, batch: flags.batch, checkpointEvery: flags.checkpointEvery, keep: flags.keep,
          threads: flags.threads, device: flags.device, workers: flags.workers, maxVolumes: flags.maxVolumes, force: flags.force,
          localWorkers: flags.localWorkers, dataParallel: flags.dataParallel,
          sampler: { rMin: flags.anchorSizes?.[0], rMax: flags.anchorSizes?.[1], lMin: flags.childSizes?.[0], lMax: flags.childSizes?.[1], scale: flags.anchorScale, jitter: flags.intensityJitter }, signal: stop.signal,
          onStep: (r, total) => bar.update(r.step, total, {}),
          onLog: (line) => {
            if (!flags.json) process.stderr.write(`${line}\n`);
          },
        });
        bar.stop();
        if (flags.json) process.stdout.write(`${toJson({ ok: true, ...s })}\n`);
        else {
          const t = s.tail;
          if (s.alreadyComplete) process.stdout.write(`${s.run} had already trained all ${s.steps} steps: nothing to do (pass --steps above ${s.steps} to extend it)\n`);
          else process.stdout.write(`${s.completed ? 'trained' : 'stopped at'} step ${s.steps} in ${s.seconds.toFixed(1)} s (${s.stepsPerSecond.toFixed(2)} steps/s); last 10 %: loss ${t.loss.toFixed(4)}, recon ${t.recon.toFixed(4)}, kl ${t.kl.toFixed(4)}, triplet ${t.triplet.toFixed(4)}\n`);
          process.stdout.write(s.completed ? `weights: ${s.weights}\n` : `resume with: hyperseg train --resume ${s.run}\n`);
        }
        if (!s.completed && stop.signal.aborted) process.exitCode = 130;
      } finally {
        bar.stop();
        stop.dispose();
      }
    }));
}
