/** `hyperseg info FILE`: header and intensity summary of a NIfTI-1 volume. */

import type { Command } from 'commander';
import { readNifti } from '../data/nifti.js';
import { action, parseIntOption, toJson } from './run.js';

interface InfoFlags {
  maxVoxels?: number;
  json?: boolean;
  verbose?: boolean;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('shape, datatype, spacing, affine and min/max/mean of the scaled data of a NIfTI-1 file')
    .argument('<file>', '.nii or .nii.gz')
    .option('--max-voxels <n>', 'refuse volumes with more voxels than this', parseIntOption('--max-voxels', 1))
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (file: string, flags: InfoFlags) => {
      const v = await readNifti(file, { maxVoxels: flags.maxVoxels, nonFinite: 'keep' });
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      let finite = 0;
      for (let i = 0; i < v.data.length; i++) {
        const x = v.data[i] * v.slope + v.inter;
        if (!Number.isFinite(x)) continue;
        finite++;
        sum += x;
        if (x < min) min = x;
        if (x > max) max = x;
      }
      const info = {
        ok: true, file, shape: v.shape, voxels: v.data.length, datatype: v.datatype, spacing: v.spacing, affine: v.affine,
        slope: v.slope, inter: v.inter, min: finite ? min : null, max: finite ? max : null, mean: finite ? sum / finite : null,
        nonFinite: v.data.length - finite,
      };
      if (flags.json) {
        process.stdout.write(`${toJson(info)}\n`);
        return;
      }
      process.stdout.write([
        `${file}`,
        `  shape ${v.shape.join(' × ')} (${info.voxels} voxels), ${v.datatype}, spacing ${v.spacing.map((s) => s.toPrecision(5)).join(' × ')}`,
        `  scaling slope ${v.slope}, intercept ${v.inter}`,
        `  min ${info.min}  max ${info.max}  mean ${info.mean === null ? 'n/a' : info.mean.toPrecision(7)}${info.nonFinite ? `  (${info.nonFinite} NaN/Inf voxels skipped)` : ''}`,
        '  affine:',
        ...v.affine.map((row) => `    ${row.map((x) => x.toFixed(4).padStart(11)).join(' ')}`),
      ].join('\n') + '\n');
    }));
}
