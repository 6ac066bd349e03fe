"""Where a synthetic-data segmentation loses level-1 Dice, measured (the figures in README's *Quality*).

    bash scripts/python-env.sh run scripts/diagnose-level1.py SEG [SEG ...]

SEG is a `hyperseg segment` output folder on synthetic data (level-1 labels known). For each volume:
  - the k = 2 errors: background voxels labelled cell (false positives) by their distance to the cell
    (≤ 2 voxels: the boundary; > 5: far background) and how many are debris; cell voxels missed;
  - the embeddings (if saved): mean norm over background and over the cell, the largest norm, and the
    class separation — distance between the class means over the background's sd along that line;
  - the local-feature reference on the same volume: each voxel's 5³ box mean (truncated at the border,
    as `hyperseg ablate`'s baseline), scored with its best threshold chosen with the labels and with
    the exact two-means split: the gap between the two is what k-means' boundary costs.
Independent of the TypeScript code: nibabel reads the files, scipy computes distances. Not part of the
test suite; prints a table per folder.
"""
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi


def load(path):
    return np.asarray(nib.load(str(path)).dataobj)


def matched_dice(pred, truth):
    """Mean Dice over the two classes after matching by maximum overlap (k = 2)."""
    if (pred == truth).mean() < 0.5:
        pred = 1 - pred
    return np.mean([2 * ((pred == c) & (truth == c)).sum() / ((pred == c).sum() + (truth == c).sum()) for c in (0, 1)])


def box_mean(x, size):
    """Mean over the in-volume voxels of each size³ box (truncated window)."""
    s = ndi.uniform_filter(x, size, mode="constant", cval=0.0)
    n = ndi.uniform_filter(np.ones_like(x), size, mode="constant", cval=0.0)
    return s / n


def two_means(v):
    """The optimal 1-D two-means split (least within-group squared error), by scanning sorted values."""
    s = np.sort(v.ravel())
    c1, c2 = np.cumsum(s), np.cumsum(s * s)
    n = len(s)
    i = np.arange(1, n)
    left = c2[i - 1] - c1[i - 1] ** 2 / i
    right = (c2[-1] - c2[i - 1]) - (c1[-1] - c1[i - 1]) ** 2 / (n - i)
    k = int(np.argmin(left + right)) + 1
    return (v > (s[k - 1] + s[k]) / 2).astype(int)


def best_threshold(v, truth):
    return max(matched_dice((v > t).astype(int), truth) for t in np.quantile(v, np.linspace(0.3, 0.97, 135)))


def main(folders):
    for folder in map(Path, folders):
        summary = json.loads((folder / "segment.json").read_text())
        print(f"{folder}")
        print("  case        Dice   FP      ≤2 vox  >5 vox  debris  FN     | norm bg  norm cell  max   separation | 5³ mean: best thr  two-means")
        for case in summary["cases"]:
            files = case["files"]
            image = load(files[0]).astype(np.float64)
            g1 = load(files[1]).astype(int)
            l3 = load(files[3]).astype(int)
            p = load(folder / case["labels"]["2"]).astype(int)
            if (p == g1).mean() < 0.5:
                p = 1 - p
            fp, fn = (p == 1) & (g1 == 0), (p == 0) & (g1 == 1)
            dist = ndi.distance_transform_edt(g1 == 0)
            line = f"  {case['id']:<10}  {matched_dice(p, g1):.3f}  {fp.sum():<6}  {(fp & (dist <= 2)).sum():<6}  {(fp & (dist > 5)).sum():<6}  {(fp & (l3 == 1)).sum():<6}  {fn.sum():<5}  |"
            emb = case.get("embeddings")
            if emb and (folder / emb).exists():
                e = np.load(folder / emb).astype(np.float64)  # voxels in NIfTI order (x fastest)
                g = g1.ravel("F")
                r = np.linalg.norm(e, axis=1)
                mb, mc = e[g == 0].mean(0), e[g == 1].mean(0)
                u = (mc - mb) / np.linalg.norm(mc - mb)
                sep = np.linalg.norm(mc - mb) / (e[g == 0] @ u).std()
                line += f" {r[g == 0].mean():.3f}    {r[g == 1].mean():.3f}      {r.max():.3f}  {sep:.2f}       |"
            else:
                line += " (no embeddings saved)                    |"
            f5 = box_mean(image, 5)
            line += f" {best_threshold(f5, g1):.3f}              {matched_dice(two_means(f5), g1):.3f}"
            print(line)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
