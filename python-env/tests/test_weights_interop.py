"""One weights format for both backends: a file saved by the TensorFlow.js backend loads into plain
PyTorch (safetensors.torch + load_state_dict, strict) and gives the encoder outputs tfjs computed."""

import json
import shutil
import subprocess
import textwrap

import numpy as np
import torch
from safetensors.torch import load_file

from conftest import ROOT
from hyperseg_worker.model import build_model


def test_tfjs_weights_load_into_plain_pytorch(tmp_path):
    lib = (ROOT / "dist" / "index.js").as_uri()
    out = tmp_path / "tfjs.safetensors"
    script = tmp_path / "save.mjs"
    script.write_text(textwrap.dedent(f"""
        import * as h from '{lib}';
        const b = await h.TfjsBackend.start({{ engine: 'cpu' }});
        await b.init({{ preset: 'small', latent_dim: 3 }}, 9);
        await b.saveWeights({json.dumps(str(out))});
        const x = Float32Array.from({{ length: 2000 }}, (_, i) => Math.sin(i * 0.01));
        const e = await b.encode(x, 2, 10);
        process.stdout.write(JSON.stringify(Array.from(e.mu)));
    """))
    r = subprocess.run([shutil.which("node"), str(script)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    mu_tfjs = np.array(json.loads(r.stdout)).reshape(2, 3)
    sd = load_file(str(out))
    model, _, _ = build_model({"preset": "small", "latent_dim": 3}, 0)
    model.load_state_dict(sd, strict=True)
    x = torch.sin(torch.arange(2000, dtype=torch.float32) * 0.01).reshape(2, 1, 10, 10, 10)
    with torch.no_grad():
        mu, _ = model.encode(x)
    np.testing.assert_allclose(mu.numpy(), mu_tfjs, rtol=1e-4, atol=1e-6)


def test_a_trained_runs_weights_load_into_plain_pytorch(tmp_path, hyperseg):
    """`hyperseg train` (torch backend) leaves RUN/model.safetensors: plain names, the configuration in
    the safetensors metadata; plain PyTorch rebuilds the model from that configuration and loads it
    strictly, and it encodes like the run's last checkpoint (the full training state)."""
    from safetensors import safe_open

    hyperseg("synth", "--out", tmp_path / "ds", "--count", "6", "--size", "20")
    hyperseg("train", "--data", tmp_path / "ds", "--out", tmp_path / "run", "--steps", "3", "--batch", "4", "--threads", "1",
             "--config", _write(tmp_path / "m.json", {"preset": "small", "latent_dim": 3, "gyroconv": False}))
    path = tmp_path / "run" / "model.safetensors"
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    config = json.loads(meta["config"])
    assert meta["format"] == "hyperseg-weights" and config["latent_dim"] == 3 and config["gyroconv"] is False
    model, _, _ = build_model({k: v for k, v in config.items() if k != "min_scale"}, 0)
    model.load_state_dict(load_file(str(path)), strict=True)
    ck = load_file(str(tmp_path / "run" / "checkpoints" / "step-000003.safetensors"))
    for name, t in model.state_dict().items():
        torch.testing.assert_close(t, ck[f"model.{name}"], rtol=0, atol=0)


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path
