/**
 * Evaluation of one segmentation against its ground truth: optional Hungarian matching of clusters
 * to classes, Dice and IoU per class with their means, and for binary tasks (or on request) the
 * surface distances HD, HD95 and ASSD of every foreground class, in physical units.
 */

import { HypersegError } from '../errors.js';
import type { Shape3, Spacing3 } from '../types.js';
import { matchClusters, relabel } from './hungarian.js';
import { labelsIn, overlapScores, type LabelArray, type OverlapReport } from './overlap.js';
import { surfaceDistances, type SurfaceDistances } from './surface.js';

export interface EvaluateOptions {
  shape: Shape3;
  spacing?: Spacing3;
  /**
   * Classes to score. Default: the labels present in the truth or the prediction (with `hungarian`, the
   * truth's: clusters are matched to them). A class absent from the truth is listed with its predicted
   * voxels and left out of the means (its Dice is undefined); a binary task measures its surface as
   * 'empty-truth'. Only the truth's, before: a false-positive class was not shown at all.
   */
  classes?: number[];
  /** Match clusters to classes by maximum overlap before scoring. */
  hungarian?: boolean;
  /** Surface distances: 'auto' (binary tasks only, the default), 'always' or 'never'. */
  surface?: 'auto' | 'always' | 'never';
  /** Label treated as background (excluded from surface distances), default 0. */
  background?: number;
}

export interface EvaluationResult extends OverlapReport {
  /** cluster → class, when Hungarian matching was applied. */
  mapping?: Record<string, number>;
  /** Surface distances per foreground class label. */
  surface?: Record<string, SurfaceDistances>;
  binary: boolean;
}

export function evaluateSegmentation(pred: LabelArray, truth: LabelArray, options: EvaluateOptions): EvaluationResult {
  const [nx, ny, nz] = options.shape;
  const n = nx * ny * nz;
  if (pred.length !== n || truth.length !== n) {
    throw new HypersegError('SHAPE_MISMATCH', `prediction and truth must hold ${nx}×${ny}×${nz} = ${n} voxels, got ${pred.length} and ${truth.length}`);
  }
  const classes = options.classes ?? (options.hungarian ? labelsIn(truth) : [...new Set([...labelsIn(truth), ...labelsIn(pred)])].sort((a, b) => a - b));
  if (classes.length === 0) throw new HypersegError('INVALID_INPUT', 'no classes to evaluate');
  let scored: LabelArray = pred;
  let mapping: Record<string, number> | undefined;
  if (options.hungarian) {
    const m = matchClusters(pred, truth, classes);
    scored = relabel(pred, m.mapping);
    mapping = Object.fromEntries([...m.mapping].map(([k, v]) => [String(k), v]));
  }
  const report = overlapScores(scored, truth, classes);
  const background = options.background ?? 0;
  const binary = classes.length <= 2 && classes.includes(background);
  const mode = options.surface ?? 'auto';
  let surface: Record<string, SurfaceDistances> | undefined;
  if (mode === 'always' || (mode === 'auto' && binary)) {
    surface = {};
    for (const label of classes) {
      if (label === background) continue;
      const p = new Uint8Array(n);
      const t = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        p[i] = scored[i] === label ? 1 : 0;
        t[i] = truth[i] === label ? 1 : 0;
      }
      surface[String(label)] = surfaceDistances(p, t, options.shape, options.spacing ?? [1, 1, 1]);
    }
  }
  return { ...report, mapping, surface, binary };
}
