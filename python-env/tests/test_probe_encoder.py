"""scripts/probe-encoder.py (README's account of the paper preset's dead encoders): a channel killed by
hand is reported dead, the others match a direct count, and a code that ignores its input has sd 0."""

import importlib.util
import json

import nibabel as nib
import numpy as np
import torch

from conftest import ROOT
from hyperseg_worker.checkpoint import save_checkpoint
from hyperseg_worker.model import build_model

spec = importlib.util.spec_from_file_location("probe_encoder", ROOT / "scripts" / "probe-encoder.py")
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


def test_dead_channels_and_a_constant_code_are_found(tmp_path, capsys):
    rng = np.random.default_rng(4)
    vol = rng.normal(0.4, 0.2, (20, 18, 16)).astype(np.float32)
    (tmp_path / "images").mkdir()
    nib.save(nib.Nifti1Image(vol, np.eye(4)), str(tmp_path / "images" / "v.nii.gz"))
    model, opt, cfg = build_model({"preset": "small"}, 0)
    with torch.no_grad():
        model.encoder[1].bias[3] = -1e4  # channel 3 of layer 1: negative on every input
    save_checkpoint(str(tmp_path / "a.safetensors"), model, opt, cfg, 7, torch.Generator().manual_seed(0))
    probe.main([str(tmp_path / "a.safetensors"), str(tmp_path), "--patches", "16", "--seed", "2", "--json"])
    r = json.loads(capsys.readouterr().out)
    assert r["step"] == 7 and r["patches"] == 16
    # the direct count on the same patches
    g = np.random.default_rng(2)
    corners = [tuple(int(g.integers(0, n - 10 + 1)) for n in vol.shape) for _ in range(16)]
    h = torch.tensor(np.stack([vol[i : i + 10, j : j + 10, k : k + 10] for i, j, k in corners]))[:, None]
    with torch.no_grad():
        for layer, conv in zip(r["layers"], model.encoder):
            h = torch.relu(conv(h))
            assert layer["alive"] == int((h.flatten(2).amax(2) > 0).any(0).sum())
    assert r["layers"][1]["alive"] <= r["layers"][1]["channels"] - 1
    assert min(r["mu_sd"]) > 1e-4
    with torch.no_grad():
        model.head_mu.weight.zero_()  # mu = exp_0(bias) whatever the input
    save_checkpoint(str(tmp_path / "b.safetensors"), model, opt, cfg, 8, torch.Generator().manual_seed(0))
    probe.main([str(tmp_path / "b.safetensors"), str(tmp_path / "images" / "v.nii.gz"), "--json"])
    assert max(json.loads(capsys.readouterr().out)["mu_sd"]) == 0
