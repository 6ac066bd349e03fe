/**
 * Matching of unsupervised clusters to ground-truth classes by maximum total overlap (the Hungarian
 * assignment on the cluster × class contingency table), as the paper evaluates its segmentations.
 *
 * One-to-one: with more clusters than classes the extra clusters stay unmatched and their voxels
 * are relabelled UNMATCHED (they count for no class); with fewer clusters than classes some classes
 * receive no cluster and score Dice 0. The assignment itself is linear-sum-assignment
 * (Jonker–Volgenant, rectangular matrices), a well-kept implementation we do not rewrite.
 */

import { linearSumAssignment } from 'linear-sum-assignment';
import { contingency, labelsIn, type LabelArray } from './overlap.js';

/** Label given to voxels of clusters that no class was matched to. */
export const UNMATCHED = -1;

export interface ClusterMatch {
  /** cluster label → class label (UNMATCHED where none). */
  mapping: Map<number, number>;
  /** Total voxels on matched (cluster, class) pairs. */
  overlap: number;
  clusters: number[];
  classes: number[];
}

/** Hungarian matching of the clusters in `pred` to `classes` (default: the labels in `truth`). */
export function matchClusters(pred: LabelArray, truth: LabelArray, classes?: number[]): ClusterMatch {
  const clusters = labelsIn(pred);
  const cls = classes ?? labelsIn(truth);
  const table = contingency(pred, truth, clusters, cls);
  const mapping = new Map<number, number>(clusters.map((c) => [c, UNMATCHED]));
  let overlap = 0;
  if (clusters.length > 0 && cls.length > 0) {
    const { rowAssignments } = linearSumAssignment(table, { maximaze: true });
    rowAssignments.forEach((col, r) => {
      if (col >= 0) {
        mapping.set(clusters[r], cls[col]);
        overlap += table[r][col];
      }
    });
  }
  return { mapping, overlap, clusters, classes: cls };
}

/** `pred` with every cluster label replaced by its matched class (UNMATCHED where none). */
export function relabel(pred: LabelArray, mapping: Map<number, number>): Int32Array {
  const out = new Int32Array(pred.length);
  for (let i = 0; i < pred.length; i++) out[i] = mapping.get(pred[i]) ?? UNMATCHED;
  return out;
}
