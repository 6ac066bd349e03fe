/** `hyperseg evaluate`: scores a predicted label volume against a ground-truth one (NIfTI). */

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { evaluateRun } from '../pipeline/report.js';
import { gridRelation, labelData, readNifti } from '../data/nifti.js';
import { HypersegError } from '../errors.js';
import { evaluateSegmentation } from '../eval/evaluate.js';
import { action, parseChoice, parseIntList, parseIntOption, toJson } from './run.js';

interface EvaluateFlags {
  run?: string;
  pred?: string;
  truth?: string;
  classes?: number[];
  hungarian?: boolean;
  surface?: 'auto' | 'always' | 'never';
  background?: number;
  maxVoxels?: number;
  json?: boolean;
  verbose?: boolean;
}

const fmt = (v: number, digits = 4): string => (Number.isNaN(v) ? 'n/a' : v === Infinity ? 'inf' : v.toFixed(digits));

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('score a segmentation folder (--run: report.md + report.json), or one predicted label volume against the truth (Dice, IoU; HD, HD95, ASSD for binary tasks)')
    .option('--run <dir>', 'a folder written by `hyperseg segment`: Hungarian-matched Dice per level (synthetic), whole-tumour Dice and HD95 (BraTS) or Dice against label files beside plain NIfTI images (NAME_seg.nii.gz), report.md + report.json')
    .option('--pred <file>', 'predicted labels (.nii or .nii.gz)')
    .option('--truth <file>', 'ground-truth labels (.nii or .nii.gz)')
    .option('--classes <list>', 'classes to score, e.g. 0,1,2 (default: the labels in the truth or the prediction; the truth\'s with --hungarian)', parseIntList('--classes'))
    .option('--hungarian', 'match predicted clusters to classes by maximum overlap first')
    .option('--surface <mode>', 'surface distances: auto (binary tasks; the default), always, never', parseChoice('--surface', ['auto', 'always', 'never'] as const))
    .option('--background <label>', 'background label (no surface distances for it; default 0)', parseIntOption('--background', -(2 ** 31), 2 ** 31 - 1))
    .option('--max-voxels <n>', 'refuse volumes with more voxels than this', parseIntOption('--max-voxels', 1))
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: EvaluateFlags) => {
      if (flags.run !== undefined) {
        if (flags.pred || flags.truth) throw new HypersegError('INVALID_ARGUMENT', 'pass either --run DIR or --pred and --truth, not both');
        // a segmentation folder is scored as its data defines (they were accepted and ignored)
        const pairOnly = (['classes', 'hungarian', 'surface', 'background'] as const).filter((k) => flags[k] !== undefined);
        if (pairOnly.length > 0) {
          throw new HypersegError('INVALID_ARGUMENT', `${pairOnly.map((k) => `--${k}`).join(', ')} apply to --pred/--truth; --run scores each volume as its data defines (Hungarian matching over the truth's classes; HD95 for BraTS and binary label files)`, { suggestion: `drop ${pairOnly.map((k) => `--${k}`).join(', ')}` });
        }
        const r = await evaluateRun(flags.run, { maxVoxels: flags.maxVoxels });
        if (flags.json) process.stdout.write(`${toJson({ ok: true, report: `${flags.run}/report.md`, aggregates: r.aggregates, cases: r.cases, ...(r.skipped ? { skipped: r.skipped } : {}), ...(r.unscored ? { unscored: r.unscored } : {}) })}\n`);
        else {
          const md = await readFile(`${flags.run}/report.md`, 'utf8');
          const table = md.split('\n').filter((l) => l.startsWith('|')).slice(0, 3);
          const skipped = (r.skipped ?? []).map((x) => `not scored: ${x.id}: ${x.reason}\n`).join('');
          process.stdout.write(`${r.aggregates.length ? table.join('\n') : `nothing to score: ${r.unscored}`}\n${skipped}report: ${flags.run}/report.md (and report.json)\n`);
        }
        return;
      }
      if (!flags.pred || !flags.truth) throw new HypersegError('INVALID_ARGUMENT', 'pass --run DIR, or both --pred FILE and --truth FILE');
      // label volumes: a NaN is damage, not an image's missing value (the reader's hint named --non-finite, which
      // reads image voxels as 0 in train and segment and is no option here)
      const readLabels = (file: string) => readNifti(file, { maxVoxels: flags.maxVoxels }).catch((e: unknown) => {
        throw e instanceof HypersegError && e.code === 'NON_FINITE'
          ? new HypersegError('NON_FINITE', e.message, { cause: e, suggestion: 'label volumes hold whole class numbers: this file is damaged, or is an image rather than labels' })
          : e;
      });
      const [pred, truth] = await Promise.all([readLabels(flags.pred), readLabels(flags.truth)]);
      if (pred.shape.join() !== truth.shape.join()) {
        throw new HypersegError('SHAPE_MISMATCH', `${flags.pred} has shape ${pred.shape.join('×')} but ${flags.truth} has shape ${truth.shape.join('×')}`);
      }
      const warnings: string[] = [];
      const grid = gridRelation(pred.affine, truth.affine);
      if (grid === 'orientation') {
        throw new HypersegError('INVALID_INPUT', `${flags.pred} and ${flags.truth} are oriented differently (their affines send the voxel axes along different world directions): the same voxel index is not the same place in both`, {
          suggestion: "resample the prediction onto the truth's grid first (nibabel, SimpleITK), or write it with the truth's affine",
        });
      }
      if (pred.spacing.some((s, i) => Math.abs(s - truth.spacing[i]) > 1e-4 * Math.max(1, Math.abs(s)))) {
        warnings.push(`voxel spacing differs (pred ${pred.spacing.join('×')}, truth ${truth.spacing.join('×')}); using the truth's`);
      } else if (grid === 'placement') {
        warnings.push(`the affines differ (origin): scored voxel by voxel on the truth's grid`);
      }
      const res = evaluateSegmentation(labelData(pred, flags.pred), labelData(truth, flags.truth), {
        shape: truth.shape, spacing: truth.spacing, classes: flags.classes, hungarian: flags.hungarian,
        surface: flags.surface, background: flags.background,
      });
      for (const w of warnings) process.stderr.write(`hyperseg: warning: ${w}\n`);
      if (flags.json) {
        process.stdout.write(`${toJson({ ok: true, pred: flags.pred, truth: flags.truth, shape: truth.shape, spacing: truth.spacing, ...res, warnings })}\n`);
        return;
      }
      const lines = [`${flags.pred} vs ${flags.truth} (${truth.shape.join('×')}, spacing ${truth.spacing.map((s) => s.toPrecision(4)).join('×')})`];
      if (res.mapping) lines.push(`Hungarian mapping cluster→class: ${Object.entries(res.mapping).map(([k, v]) => `${k}→${v < 0 ? 'none' : v}`).join('  ')}`);
      lines.push('class   dice     iou      truth-voxels  pred-voxels');
      for (const c of res.classes) {
        lines.push(`${String(c.label).padEnd(7)} ${fmt(c.dice).padEnd(8)} ${fmt(c.iou).padEnd(8)} ${String(c.truthVoxels).padEnd(13)} ${c.predVoxels}${c.valid ? '' : '  (absent from truth: skipped)'}`);
      }
      lines.push(`mean dice ${fmt(res.meanDice)}  mean iou ${fmt(res.meanIou)}  over ${res.valid} class(es)`);
      for (const [label, s] of Object.entries(res.surface ?? {})) {
        lines.push(`class ${label}: HD ${fmt(s.hd, 3)}  HD95 ${fmt(s.hd95, 3)}  ASSD ${fmt(s.assd, 3)} (physical units)${s.status === 'ok' ? '' : `  [${s.status}]`}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    }));
}
