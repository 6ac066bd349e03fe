/**
 * Overlap metrics between label volumes: confusion counts, Dice and IoU per class, their means.
 *
 * Edge-case policy (MONAI DiceMetric with ignore_empty=True): a class absent from the truth has
 * Dice = IoU = NaN, whatever the prediction, and the means skip it and report how many classes
 * were valid (`valid`). A class present in the truth but absent from the prediction scores 0.
 */

import { HypersegError } from '../errors.js';

export type LabelArray = Int32Array | Uint8Array | Int16Array | Uint16Array;

export interface ClassScore {
  label: number;
  dice: number;
  iou: number;
  truthVoxels: number;
  predVoxels: number;
  intersection: number;
  /** false when the class is absent from the truth (Dice and IoU are NaN and skipped by the means). */
  valid: boolean;
}

export interface OverlapReport {
  classes: ClassScore[];
  meanDice: number;
  meanIou: number;
  /** Classes that entered the means. */
  valid: number;
}

/** Sorted distinct labels in a volume. */
export function labelsIn(v: LabelArray): number[] {
  const seen = new Set<number>();
  for (let i = 0; i < v.length; i++) seen.add(v[i]);
  return [...seen].sort((a, b) => a - b);
}

/**
 * Contingency table counts[r][c] = #{voxels with pred = rows[r] and truth = cols[c]}.
 * Labels not listed fall into no row/column.
 */
export function contingency(pred: LabelArray, truth: LabelArray, rows: number[], cols: number[]): number[][] {
  if (pred.length !== truth.length) throw new HypersegError('SHAPE_MISMATCH', `prediction has ${pred.length} voxels, truth has ${truth.length}`);
  const rIndex = new Map(rows.map((l, i) => [l, i]));
  const cIndex = new Map(cols.map((l, i) => [l, i]));
  const table = rows.map(() => new Array<number>(cols.length).fill(0));
  for (let i = 0; i < pred.length; i++) {
    const r = rIndex.get(pred[i]);
    const c = cIndex.get(truth[i]);
    if (r !== undefined && c !== undefined) table[r][c]++;
  }
  return table;
}

/** Mean of the finite values and their count. */
export function nanMean(values: number[]): { mean: number; count: number } {
  let s = 0;
  let count = 0;
  for (const v of values) {
    if (Number.isFinite(v)) {
      s += v;
      count++;
    }
  }
  return { mean: count > 0 ? s / count : NaN, count };
}

/** Dice and IoU per class (default: every label in the truth) and their NaN-skipping means. */
export function overlapScores(pred: LabelArray, truth: LabelArray, classes?: number[]): OverlapReport {
  if (pred.length !== truth.length) throw new HypersegError('SHAPE_MISMATCH', `prediction has ${pred.length} voxels, truth has ${truth.length}`);
  const cls = classes ?? labelsIn(truth);
  const index = new Map(cls.map((l, i) => [l, i]));
  const tp = new Float64Array(cls.length);
  const nt = new Float64Array(cls.length);
  const np = new Float64Array(cls.length);
  for (let i = 0; i < pred.length; i++) {
    const a = index.get(pred[i]);
    const b = index.get(truth[i]);
    if (a !== undefined) np[a]++;
    if (b !== undefined) {
      nt[b]++;
      if (a === b) tp[b]++;
    }
  }
  const scores: ClassScore[] = cls.map((label, i) => {
    const valid = nt[i] > 0;
    return {
      label,
      dice: valid ? (2 * tp[i]) / (nt[i] + np[i]) : NaN,
      iou: valid ? tp[i] / (nt[i] + np[i] - tp[i]) : NaN,
      truthVoxels: nt[i],
      predVoxels: np[i],
      intersection: tp[i],
      valid,
    };
  });
  const dice = nanMean(scores.map((s) => s.dice));
  const iou = nanMean(scores.map((s) => s.iou));
  return { classes: scores, meanDice: dice.mean, meanIou: iou.mean, valid: dice.count };
}
