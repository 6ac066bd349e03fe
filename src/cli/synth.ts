/** `hyperseg synth`: the synthetic hierarchical dataset, or BraTS-layout phantoms. */

import type { Command } from 'commander';
import { writeBratsPhantoms } from '../data/brats.js';
import { writeSynthDataset } from '../data/dataset.js';
import { HypersegError } from '../errors.js';
import { progressBar } from './progress.js';
import { action, parseChoice, parseIntOption, toJson } from './run.js';

interface SynthFlags {
  out: string;
  kind: 'hierarchical' | 'brats-phantom';
  count?: number;
  size?: number;
  shape?: string;
  irregular?: boolean;
  seed: number;
  force?: boolean;
  json?: boolean;
  verbose?: boolean;
}

function parseShape(value: string): [number, number, number] {
  const parts = value.split(/[x×,]/).map((s) => Number(s.trim()));
  if (parts.length !== 3 || parts.some((v) => !Number.isInteger(v) || v < 24 || v > 1024)) {
    throw new HypersegError('INVALID_ARGUMENT', `--shape must be three integers in [24, 1024] like 240x240x155, got '${value}'`);
  }
  return parts as [number, number, number];
}

export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description('generate the synthetic hierarchical dataset (NIfTI + manifest + preview), or BraTS-layout phantoms')
    .requiredOption('--out <dir>', 'output folder (created atomically; must not exist or be empty unless --force)')
    .option('--kind <kind>', 'hierarchical | brats-phantom', parseChoice('--kind', ['hierarchical', 'brats-phantom'] as const), 'hierarchical')
    .option('--count <n>', 'volumes (hierarchical: default 120) or cases (brats-phantom: default 4)', parseIntOption('--count', 1, 100_000))
    .option('--size <n>', 'hierarchical: cube side in voxels (default 50)', parseIntOption('--size', 16, 512))
    .option('--shape <XxYxZ>', 'brats-phantom: volume shape (default 240x240x155)')
    .option('--irregular', 'hierarchical: perturb every boundary (the harder variant)')
    .option('--seed <s>', 'random seed', parseIntOption('--seed', 0), 0)
    .option('--force', 'replace a non-empty output folder')
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: SynthFlags) => {
      const bar = progressBar(flags.kind === 'hierarchical' ? 'synth' : 'phantoms', !flags.json);
      const t0 = performance.now();
      let summary: Record<string, unknown>;
      try {
        if (flags.kind === 'hierarchical') {
          if (flags.shape !== undefined) throw new HypersegError('INVALID_ARGUMENT', '--shape applies to --kind brats-phantom; use --size for the hierarchical dataset');
          const m = await writeSynthDataset({
            out: flags.out, count: flags.count, size: flags.size, irregular: flags.irregular, seed: flags.seed, force: flags.force,
            onProgress: (d, t) => bar.update(d, t),
          });
          summary = {
            kind: m.kind, out: flags.out, count: m.count, size: m.size, irregular: m.irregular, seed: m.seed, version: m.version,
            split: { train: m.split.train.length, val: m.split.val.length, test: m.split.test.length },
            manifest: `${flags.out}/manifest.json`, preview: `${flags.out}/preview.png`,
          };
        } else {
          if (flags.size !== undefined || flags.irregular) throw new HypersegError('INVALID_ARGUMENT', '--size and --irregular apply to --kind hierarchical');
          const shape = flags.shape === undefined ? undefined : parseShape(flags.shape);
          const ids = await writeBratsPhantoms({
            out: flags.out, count: flags.count, seed: flags.seed, force: flags.force, shape, onProgress: (d, t) => bar.update(d, t),
          });
          summary = { kind: 'brats-phantom', out: flags.out, count: ids.length, seed: flags.seed, cases: ids };
        }
      } finally {
        bar.stop();
      }
      const seconds = (performance.now() - t0) / 1000;
      if (flags.json) {
        process.stdout.write(`${toJson({ ok: true, ...summary, seconds })}\n`);
        return;
      }
      process.stdout.write(`wrote ${String(summary.count)} ${summary.kind === 'brats-phantom' ? 'BraTS-layout phantom cases' : 'volumes'} to ${flags.out} in ${seconds.toFixed(1)} s${summary.preview ? `; preview: ${String(summary.preview)}` : ''}\n`);
    }));
}
