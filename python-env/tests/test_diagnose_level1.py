"""scripts/diagnose-level1.py (the README's level-1 diagnosis): its pieces against definitions, and
one folder end to end with known errors."""

import importlib.util
import json

import nibabel as nib
import numpy as np
import pytest

from conftest import ROOT

spec = importlib.util.spec_from_file_location("diagnose_level1", ROOT / "scripts" / "diagnose-level1.py")
diag = importlib.util.module_from_spec(spec)
spec.loader.exec_module(diag)


def test_two_means_is_the_optimal_split():
    rng = np.random.default_rng(0)
    for trial in range(5):
        v = np.concatenate([rng.normal(0.2, 0.08, 200 + 50 * trial), rng.normal(0.5, 0.05, 60)])
        s = np.sort(v)
        sse = [((s[:i] - s[:i].mean()) ** 2).sum() + ((s[i:] - s[i:].mean()) ** 2).sum() for i in range(1, len(s))]
        i = int(np.argmin(sse)) + 1
        want = (v > (s[i - 1] + s[i]) / 2).astype(int)
        assert np.array_equal(diag.two_means(v), want)


def test_box_mean_is_the_truncated_window_average():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 6, 5))
    got = diag.box_mean(x, 5)
    for (i, j, k) in [(0, 0, 0), (3, 2, 1), (6, 5, 4), (2, 5, 0)]:
        want = x[max(0, i - 2):i + 3, max(0, j - 2):j + 3, max(0, k - 2):k + 3].mean()
        assert got[i, j, k] == pytest.approx(want, abs=1e-12)


def test_matched_dice():
    t = np.array([0, 0, 0, 1, 1, 0])
    assert diag.matched_dice(t.copy(), t) == 1.0
    assert diag.matched_dice(1 - t, t) == 1.0  # cluster names do not matter
    p = np.array([0, 0, 1, 1, 1, 0])  # one background voxel called cell
    assert diag.matched_dice(p, t) == pytest.approx((2 * 3 / 7 + 2 * 2 / 5) / 2)


def test_a_folder_end_to_end(tmp_path, capsys):
    shape = (16, 14, 12)
    truth = np.zeros(shape, np.uint8)
    truth[3:9, 3:8, 2:6] = 1  # the cell
    pred = truth.copy()
    pred[15, 13, 11] = 1  # far from the cell (distance 11)
    pred[2, 4, 3] = 1  # next to it (distance 1)
    pred[5, 5, 3] = 0  # a missed cell voxel
    l3 = np.where(truth == 1, 2, 0).astype(np.uint8)
    l3[15, 13, 11] = 1  # that far voxel is debris
    image = truth * 0.5 + 0.2
    affine = np.eye(4)
    files = []
    for name, arr in [("img", image.astype(np.float32)), ("l1", truth), ("l2", truth), ("l3", l3)]:
        f = tmp_path / f"{name}.nii.gz"
        nib.save(nib.Nifti1Image(arr, affine), str(f))
        files.append(str(f))
    (tmp_path / "v").mkdir()
    nib.save(nib.Nifti1Image((1 - pred).astype(np.uint8), affine), str(tmp_path / "v" / "v_k2.nii.gz"))  # cluster names swapped
    (tmp_path / "segment.json").write_text(json.dumps({"cases": [{"id": "v", "files": files, "labels": {"2": "v/v_k2.nii.gz"}}]}))
    diag.main([str(tmp_path)])
    row = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("v ")][0].split()
    # id, Dice, FP, ≤2, >5, debris, FN, |, (no embeddings saved) ..., then the two 5³ figures
    assert row[2:7] == ["2", "1", "1", "1", "1"]
    cell = truth.sum()
    assert float(row[1]) == pytest.approx(((2 * (cell - 1) / (2 * cell + 1)) + 2 * (truth.size - cell - 2) / (2 * (truth.size - cell) - 1)) / 2, abs=5e-4)
    assert "(no embeddings saved)" in " ".join(row)
