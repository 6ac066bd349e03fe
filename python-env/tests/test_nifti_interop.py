"""NIfTI interoperability with nibabel, both directions, and the resampling convention against scipy.

Files written by nibabel are read by hyperseg's reader (through a small Node script importing the
built library) and must give the same voxel values, affine and spacing; files written by hyperseg
are read by nibabel and must do the same. The whole-volume trilinear resampling is compared with
scipy.ndimage.zoom(order=1, grid_mode=True, mode='nearest'), the same half-voxel convention.
"""

import json
import shutil
import subprocess
import textwrap

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from conftest import ROOT

LIB = (ROOT / "dist" / "index.js").as_uri()


def node(script, tmp_path):
    path = tmp_path / "script.mjs"
    path.write_text(f"import * as h from '{LIB}';\n" + textwrap.dedent(script))
    r = subprocess.run([shutil.which("node"), str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def rotated_affine(spacing, offset):
    t = 0.3
    rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    a = np.eye(4)
    a[:3, :3] = rot @ np.diag(spacing)
    a[:3, 3] = offset
    return a


@pytest.mark.parametrize("dtype", ["uint8", "<i2", ">i2", "<i4", "<f4", ">f4", "<f8"])
@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_hyperseg_reads_nibabel_files_identically(tmp_path, dtype, ext):
    rng = np.random.default_rng(0)
    shape = (7, 5, 4)
    data = (rng.random(shape) * 200 - (0 if dtype == "uint8" else 100)).astype(dtype)
    affine = rotated_affine([0.9, 1.2, 2.5], [-40.0, 12.5, 7.0])
    img = nib.Nifti1Image(data, affine)
    if dtype == "<i2":
        img.header.set_slope_inter(0.25, -3.0)
    path = tmp_path / f"nib{ext}"
    nib.save(img, str(path))
    out = node(f"""
        const v = await h.readNifti({json.dumps(str(path))});
        const s = h.scaledData(v);
        process.stdout.write(JSON.stringify({{ shape: v.shape, datatype: v.datatype, spacing: v.spacing, affine: v.affine, data: Array.from(s) }}));
    """, tmp_path)
    got = json.loads(out)
    ref = nib.load(str(path))
    assert got["shape"] == list(shape)
    # hyperseg stores x fastest: a Fortran-order flattening of nibabel's (x, y, z) array
    np.testing.assert_allclose(np.array(got["data"]), ref.get_fdata().ravel(order="F"), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.array(got["affine"]), ref.affine, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(got["spacing"], ref.header.get_zooms()[:3], rtol=1e-6)


@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_nibabel_reads_hyperseg_files_identically(tmp_path, ext):
    img_path = tmp_path / f"img{ext}"
    lab_path = tmp_path / f"lab{ext}"
    affine = rotated_affine([0.8, 1.1, 3.0], [10.0, -20.0, 30.0])
    node(f"""
        const shape = [6, 5, 4];
        const data = Float32Array.from({{ length: 120 }}, (_, i) => Math.sin(i) * 100);
        const labels = Uint8Array.from({{ length: 120 }}, (_, i) => i % 7);
        const affine = {json.dumps(affine.tolist())};
        await h.writeNifti({json.dumps(str(img_path))}, {{ shape, spacing: [0.8, 1.1, 3.0], affine, data }});
        await h.writeNifti({json.dumps(str(lab_path))}, {{ shape, spacing: [0.8, 1.1, 3.0], affine, data: labels }});
    """, tmp_path)
    img = nib.load(str(img_path))
    lab = nib.load(str(lab_path))
    i = np.arange(120)
    np.testing.assert_array_equal(img.get_fdata().ravel(order="F"), (np.sin(i) * 100).astype(np.float32))
    assert lab.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(lab.dataobj).ravel(order="F"), i % 7)
    for im in (img, lab):
        np.testing.assert_allclose(im.affine, affine, atol=1e-5)
        np.testing.assert_allclose(im.header.get_sform(), affine, atol=1e-5)
        np.testing.assert_allclose(im.header.get_qform(), affine, atol=1e-5)  # the quaternion encodes the same rotation
        np.testing.assert_allclose(im.header.get_zooms(), [0.8, 1.1, 3.0], rtol=1e-6)


def test_whole_volume_resampling_matches_scipy_zoom_half_voxel_convention(tmp_path):
    rng = np.random.default_rng(3)
    vol = rng.standard_normal((6, 7, 9)).astype(np.float32)  # (z, y, x) in C order = x fastest
    npy = tmp_path / "vol.npy"
    np.save(npy, vol)
    out = node(f"""
        import {{ readFileSync }} from 'node:fs';
        const a = h.parseNpy(readFileSync({json.dumps(str(npy))}));
        const grid = {{ data: a.data, shape: [9, 7, 6] }};
        const r = h.resampleVolume(grid, 5, 10, [0, 0, 0], [18, 14, 12]);
        process.stdout.write(JSON.stringify(Array.from(r.data)));
    """, tmp_path)
    got = np.array(json.loads(out)).reshape(12, 14, 18)
    ref = ndimage.zoom(vol.astype(np.float64), 2, order=1, mode="nearest", grid_mode=True)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_the_written_qform_is_the_sform_when_the_given_spacing_disagrees_and_absent_for_a_sheared_affine(tmp_path):
    # an input with qform identity and sform diag(2) offset -5 (pixdim 1): its pixdim was written beside the
    # sform's rotation and offset, a qform 5 mm away from the sform in the same file
    scaled = np.array([[2.0, 0, 0, -5], [0, 2, 0, -5], [0, 0, 2, -5], [0, 0, 0, 1]])
    sheared = np.array([[1.0, 0.5, 0, 3], [0, 1, 0, 2], [0, 0, 1, 1], [0, 0, 0, 1]])
    a, b = tmp_path / "scaled.nii.gz", tmp_path / "sheared.nii.gz"
    node(f"""
        const data = new Uint8Array(24);
        await h.writeNifti({json.dumps(str(a))}, {{ shape: [2, 3, 4], spacing: [1, 1, 1], affine: {json.dumps(scaled.tolist())}, data }});
        await h.writeNifti({json.dumps(str(b))}, {{ shape: [2, 3, 4], spacing: [1, 1, 1], affine: {json.dumps(sheared.tolist())}, data }});
    """, tmp_path)
    im = nib.load(str(a))
    np.testing.assert_allclose(im.header.get_sform(), scaled, atol=1e-6)
    np.testing.assert_allclose(im.header.get_qform(), scaled, atol=1e-6)
    np.testing.assert_allclose(im.header.get_zooms(), [2, 2, 2], rtol=1e-6)
    sh = nib.load(str(b))
    assert int(sh.header["qform_code"]) == 0 and int(sh.header["sform_code"]) == 1
    np.testing.assert_allclose(sh.affine, sheared, atol=1e-6)


@pytest.mark.parametrize("qcode,scode,want", [(1, 4, 4), (2, 0, 2), (1, 1, 1), (0, 0, 0)])
def test_a_volume_written_on_a_read_grid_keeps_its_space_code(tmp_path, qcode, scode, want):
    # an MNI-152 sform (code 4) came back as scanner space (1) on every segmentation
    src, out = tmp_path / "in.nii.gz", tmp_path / "out.nii.gz"
    s_aff = rotated_affine([1.0, 1.0, 1.0], [-90.0, -126.0, -72.0])
    q_aff = np.diag([1.0, 1.0, 1.0, 1.0])
    img = nib.Nifti1Image(np.zeros((4, 5, 6), np.float32), None)
    img.set_qform(q_aff, code=qcode)
    img.set_sform(s_aff, code=scode)
    nib.save(img, str(src))
    node(f"""
        const v = await h.readNifti({json.dumps(str(src))});
        await h.writeNifti({json.dumps(str(out))}, {{ shape: v.shape, ...h.gridOf(v), data: new Uint8Array(120) }});
    """, tmp_path)
    got = nib.load(str(out))
    assert int(got.header["sform_code"]) == want and int(got.header["qform_code"]) == want
    np.testing.assert_allclose(got.affine, nib.load(str(src)).affine, atol=1e-5)
