/** `hyperseg segment`: embeddings, k-means for each k, label volumes, embeddings and pictures. */

import type { Command } from 'commander';
import type { BackendName } from '../backends/index.js';
import type { Engine } from '../backends/tfjs/engine.js';
import { CENTROIDS, type Centroid } from '../cluster/kmeans.js';
import { segment } from '../pipeline/segment.js';
import { INTENSITY_MAPPINGS, type IntensityMapping, type Split } from '../pipeline/inputs.js';
import { progressBar } from './progress.js';
import { action, addReadOptions, interruptible, parseChoice, parseIntList, parseIntOption, type ReadFlags, readOptionsOf, toJson } from './run.js';
import { addComputeOptions } from './compute.js';
import { modelFromFlags } from './train.js';

interface SegmentFlags extends ReadFlags {
  device?: string;
  workers?: string[];
  model: string;
  input: string[];
  out: string;
  k?: number[];
  patch?: number;
  path?: 'dense' | 'per-patch';
  split?: Split;
  backend: BackendName;
  engine?: Engine;
  preset?: string;
  config?: string;
  threads?: number;
  seed: number;
  splitSeed?: number;
  fitSample: number;
  nInit: number;
  centroid: Centroid;
  slabMb: number;
  intensity?: IntensityMapping;
  pictures: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function registerSegment(program: Command): void {
  addReadOptions(addComputeOptions(program.command('segment')))
    .description('segment volumes: per-voxel embeddings (dense path by default), k-means on the ball for each k, NIfTI labels, embeddings, pictures')
    .requiredOption('--model <path>', 'a run folder from `hyperseg train`, or a weights .safetensors file')
    .requiredOption('--input <paths...>', 'a synth or BraTS-layout folder (its test split by default), or NIfTI files / a folder of them')
    .requiredOption('--out <dir>', 'output folder')
    .option('--k <list>', "cluster counts (default: 2,4,8 and each volume's ground-truth k: 3 for BraTS, a label file's number of values)", parseIntList('--k'))
    .option('--patch <p>', "patch side around each voxel (default m/2: the paper's 5 for m = 10)", parseIntOption('--patch', 1, 99))
    .option('--path <path>', 'dense | per-patch (default dense when the encoder allows it)', parseChoice('--path', ['dense', 'per-patch'] as const))
    .option('--split <split>', 'train | val | test | all (dataset folders)', parseChoice('--split', ['train', 'val', 'test', 'all'] as const))
    .option('--preset <name>', 'model preset, for weights files without a configuration', parseChoice('--preset', ['small', 'valid', 'paper'] as const))
    .option('--config <file|json>', 'model configuration (a JSON file or inline JSON), for weights files without one')
    .option('--seed <s>', 'k-means seed', parseIntOption('--seed', 0), 0)
    .option('--split-seed <s>', "seed of a BraTS-layout folder's train/val/test split (default: the run's, so its test split holds no training volume)", parseIntOption('--split-seed', 0))
    .option('--fit-sample <n>', 'voxels k-means is fitted on (0 = all); every voxel is then labelled', parseIntOption('--fit-sample', 0), 20_000)
    .option('--n-init <n>', 'k-means restarts', parseIntOption('--n-init', 1, 1000), 5)
    .option('--centroid <c>', "cluster centres: mean (k-means with Fréchet means, the method's) | median (k-medians: Fréchet medians, less pulled by a large cluster's tail)", parseChoice('--centroid', CENTROIDS), 'mean')
    .option('--intensity <mapping>', "intensities before the encoder: as-is | robust-unit (to [0, 1] by the 0.5th/99.5th percentiles) | brats-flair (default: as the model's training data were — as-is for a synth folder, robust-unit for NIfTI files, brats-flair for a BraTS folder)", parseChoice('--intensity', INTENSITY_MAPPINGS))
    .option('--slab-mb <n>', 'dense path: memory budget of one slab in MiB', parseIntOption('--slab-mb', 16), 512)
    .option('--no-pictures', 'skip the PNG pictures')
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: SegmentFlags) => {
      const bar = progressBar('segment', !flags.json);
      const stop = interruptible('the output folder is left as it was');
      try {
        const s = await segment({
          model: flags.model, modelOverride: await modelFromFlags(flags), input: flags.input, read: readOptionsOf(flags), out: flags.out, ks: flags.k, p: flags.patch, path: flags.path,
          split: flags.split, backend: flags.backend, engine: flags.engine, threads: flags.threads, device: flags.device, workers: flags.workers, seed: flags.seed, splitSeed: flags.splitSeed, fitSample: flags.fitSample,
          nInit: flags.nInit, centroid: flags.centroid, slabMB: flags.slabMb, intensity: flags.intensity, pictures: flags.pictures, signal: stop.signal,
          onCase: (d, t) => bar.update(d, t),
          onLog: (line) => {
            if (!flags.json) process.stderr.write(`${line}\n`);
          },
        });
        bar.stop();
        if (flags.json) process.stdout.write(`${toJson({ ok: true, out: flags.out, ...s })}\n`);
        else {
          const vps = s.cases.reduce((a, c) => a + c.voxelsPerSecond, 0) / s.cases.length;
          process.stdout.write(`segmented ${s.cases.length} volume(s)${s.kept ? ` (${s.kept.length} kept from the interrupted segmentation)` : ''} into k = ${s.ks.join(', ')} in ${s.seconds.toFixed(1)} s (${s.path} path, ${Math.round(vps)} voxels/s); peak memory ${s.peakRssMB.toFixed(0)} MiB${s.workerPeakRssMB ? ` + worker ${s.workerPeakRssMB.toFixed(0)} MiB` : ''}\n`);
          process.stdout.write(`outputs: ${flags.out}/segment.json; score with: hyperseg evaluate --run ${flags.out}\n`);
        }
      } finally {
        bar.stop();
        stop.dispose();
      }
    }));
}
