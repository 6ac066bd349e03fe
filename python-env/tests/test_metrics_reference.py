"""`hyperseg evaluate` against an independent Python computation of the same metrics.

Volumes are written with nibabel (anisotropic voxels, gzip and plain), read by the TypeScript
NIfTI reader through the CLI, and scored; the reference re-implements MONAI's definitions with
scipy (binary_erosion for surfaces, distance_transform_edt with `sampling` for distances,
numpy percentiles) and scipy's linear_sum_assignment for the Hungarian matching.
"""

import numpy as np
import nibabel as nib
import pytest
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

SPACINGS = [(1.0, 1.0, 1.0), (0.7, 1.3, 2.9)]


def write(path, data, spacing):
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = [-10.0, 5.0, 3.0]
    nib.save(nib.Nifti1Image(data, affine), str(path))


def monai_surface(pred, truth, spacing):
    ep = pred ^ ndimage.binary_erosion(pred)
    et = truth ^ ndimage.binary_erosion(truth)
    a = ndimage.distance_transform_edt(~et, sampling=spacing)[ep]
    b = ndimage.distance_transform_edt(~ep, sampling=spacing)[et]
    return {
        "hd": max(a.max(), b.max()),
        "hd95": max(np.percentile(a, 95), np.percentile(b, 95)),
        "assd": np.concatenate([a, b]).mean(),
    }


def blob(rng, shape):
    grid = np.indices(shape).astype(float)
    c = [rng.uniform(0, s) for s in shape]
    r = [rng.uniform(2, s / 2) for s in shape]
    return sum(((g - ci) / ri) ** 2 for g, ci, ri in zip(grid, c, r)) <= 1


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_dice_iou_and_surface_distances(tmp_path, hyperseg, spacing, seed):
    rng = np.random.default_rng(seed)
    shape = (23, 17, 11)
    truth = blob(rng, shape) | blob(rng, shape)
    pred = blob(rng, shape) | (truth & (rng.random(shape) < 0.8))
    truth[0, 0, 0] = True  # a surface voxel on the volume border
    write(tmp_path / "pred.nii.gz", pred.astype(np.uint8), spacing)
    write(tmp_path / "truth.nii", truth.astype(np.int16), spacing)
    out = hyperseg("evaluate", "--pred", tmp_path / "pred.nii.gz", "--truth", tmp_path / "truth.nii", "--json")

    inter = (pred & truth).sum()
    fg = next(c for c in out["classes"] if c["label"] == 1)
    assert fg["dice"] == pytest.approx(2 * inter / (pred.sum() + truth.sum()), rel=1e-12)
    assert fg["iou"] == pytest.approx(inter / (pred | truth).sum(), rel=1e-12)
    stored = tuple(float(z) for z in nib.load(str(tmp_path / "truth.nii")).header.get_zooms())  # float32 pixdim
    ref = monai_surface(pred, truth, stored)
    got = out["surface"]["1"]
    for key in ("hd", "hd95", "assd"):
        assert got[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-9), key
    assert out["spacing"] == pytest.approx(list(spacing), rel=1e-6)


def test_hungarian_matches_scipy_linear_sum_assignment(tmp_path, hyperseg):
    rng = np.random.default_rng(7)
    shape = (20, 15, 9)
    truth = rng.integers(0, 4, size=shape).astype(np.int16)
    noise = rng.random(shape) < 0.35
    perm = np.array([6, 2, 9, 4])
    pred = np.where(noise, rng.integers(0, 10, size=shape), perm[truth]).astype(np.int32)
    write(tmp_path / "pred.nii", pred, (1.0, 1.0, 1.0))
    write(tmp_path / "truth.nii", truth, (1.0, 1.0, 1.0))
    out = hyperseg("evaluate", "--pred", tmp_path / "pred.nii", "--truth", tmp_path / "truth.nii", "--hungarian", "--json")

    clusters = np.unique(pred)
    classes = np.unique(truth)
    table = np.array([[np.sum((pred == k) & (truth == c)) for c in classes] for k in clusters])
    rows, cols = linear_sum_assignment(table, maximize=True)
    expected = {str(clusters[r]): int(classes[c]) for r, c in zip(rows, cols)}
    got = {k: v for k, v in out["mapping"].items() if v >= 0}
    assert got == expected
    relabelled = np.full(shape, -1)
    for k, c in expected.items():
        relabelled[pred == int(k)] = c
    dices = [2 * np.sum((relabelled == c) & (truth == c)) / (np.sum(relabelled == c) + np.sum(truth == c)) for c in classes]
    assert out["meanDice"] == pytest.approx(np.mean(dices), rel=1e-12)


def test_sform_affine_and_scaling_from_nibabel_are_honoured(tmp_path, hyperseg):
    # An intensity image with slope/intercept is not a label map: evaluate must refuse it by name.
    data = np.arange(60, dtype=np.int16).reshape(5, 4, 3)
    img = nib.Nifti1Image(data, np.diag([2.0, 3.0, 4.0, 1.0]))
    img.header.set_slope_inter(0.5, 0.0)
    nib.save(img, str(tmp_path / "scaled.nii"))
    write(tmp_path / "labels.nii", np.zeros((5, 4, 3), np.int16), (2.0, 3.0, 4.0))
    r = hyperseg("evaluate", "--pred", tmp_path / "scaled.nii", "--truth", tmp_path / "labels.nii", expect_ok=False)
    assert r.returncode == 1
    assert "expected an integer label" in r.stderr
