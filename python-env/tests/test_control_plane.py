"""The pythonia control plane through the CLI: import-checkpoint (a PyTorch state_dict → safetensors
that plain PyTorch loads back identically) and doctor."""

import json

import torch
from safetensors.torch import load_file

from hyperseg_worker.model import build_model


def test_import_checkpoint_round_trips_a_state_dict(tmp_path, hyperseg):
    model, _, _ = build_model({"preset": "small", "latent_dim": 3}, 5)
    sd = model.state_dict()
    pt = tmp_path / "model.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}}, pt)
    out = tmp_path / "weights.safetensors"
    r = hyperseg("import-checkpoint", pt, "--out", out, "--config", json.dumps({"preset": "small", "latent_dim": 3}), "--json")
    assert r["ok"] and r["tensors"] == len(sd)
    loaded = load_file(str(out))
    assert set(loaded) == set(sd)
    for k, v in sd.items():
        assert torch.equal(loaded[k], v.float()), k
    assert json.loads((tmp_path / "weights.safetensors.json").read_text())["config"]["latent_dim"] == 3


def test_import_checkpoint_refuses_a_mismatched_state_dict(tmp_path, hyperseg):
    model, _, _ = build_model({"preset": "small"}, 0)
    pt = tmp_path / "other.pt"
    torch.save(model.state_dict(), pt)
    r = hyperseg("import-checkpoint", pt, "--out", tmp_path / "w.safetensors", "--config", '{"preset": "valid"}', expect_ok=False)
    assert r.returncode == 1
    assert "has shape" in r.stderr and "the model expects" in r.stderr
    assert not (tmp_path / "w.safetensors").exists()
    r = hyperseg("import-checkpoint", tmp_path / "missing.pt", "--out", tmp_path / "w.safetensors", expect_ok=False)
    assert r.returncode == 1 and "no such file" in r.stderr


def _code_carrying_pt(path, marker):
    """A .pt file whose pickle first makes torch's weights-only unpickler raise TypeError (BUILD of an
    OrderedDict with a (None, dict) state), then calls os.system: a full unpickle runs it."""
    import io
    import zipfile

    buf = io.BytesIO()
    torch.save({"a": torch.zeros(1)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    cmd = f"touch {marker}".encode()
    payload = (b"\x80\x02" + b"ccollections\nOrderedDict\n" + b")R"
               + b"N}X\x01\x00\x00\x00xK\x01s\x86b"
               + b"0" + b"cposix\nsystem\n" + b"X" + len(cmd).to_bytes(4, "little") + cmd + b"\x85R0"
               + b"}.")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        for n in src.namelist():
            out.writestr(n, payload if n.endswith("data.pkl") else src.read(n))


def test_import_checkpoint_never_runs_code_from_the_file(tmp_path, hyperseg):
    # the fallback to a full torch.load on TypeError ran this file's os.system call
    pt = tmp_path / "evil.pt"
    marker = tmp_path / "ran"
    _code_carrying_pt(pt, marker)
    r = hyperseg("import-checkpoint", pt, "--out", tmp_path / "w.safetensors", expect_ok=False)
    assert r.returncode == 1
    assert "not a plain state_dict that loads without running code" in r.stderr
    assert not marker.exists()
    assert not (tmp_path / "w.safetensors").exists()


def test_doctor_reports_python_torch_and_the_worker_round_trip(hyperseg):
    r = hyperseg("doctor", "--json")
    assert r["ok"] is True
    checks = {c["name"]: c for c in r["checks"]}
    assert checks["torch"]["ok"] and checks["torch"]["detail"].startswith("torch ")
    assert checks["worker"]["ok"] and "round trip" in checks["worker"]["detail"]
    assert checks["python"]["ok"] and "pythonia" in checks["python"]["detail"]
