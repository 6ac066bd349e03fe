"""Checkpoints without pickle: PATH (safetensors: model parameters, Adam moments, RNG state) and
PATH.json (configuration, step, optimiser hyper-parameters). Both written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .model import HyperbolicVAE, ModelConfig


def atomic_write(path: Path, write) -> None:
    """Writes through a new temporary file beside PATH, renamed over it. The temporary name is random and made
    with O_EXCL (tempfile.mkstemp): a predictable name (it held the pid) could be a symbolic link placed in
    advance, and the write went through it, outside a worker's --files-root. The rename replaces PATH itself,
    never a file a link at PATH points to."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_checkpoint(path: str, model: HyperbolicVAE, opt: torch.optim.Adam, cfg: ModelConfig, step: int, gen: torch.Generator) -> None:
    p = Path(path)
    if not path:
        raise OSError("empty path")
    p.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    names = [n for n, _ in model.named_parameters()]
    state = opt.state_dict()
    adam_steps = {}
    for idx, st in state["state"].items():
        name = names[idx]
        tensors[f"adam.exp_avg.{name}"] = st["exp_avg"].cpu().contiguous()
        tensors[f"adam.exp_avg_sq.{name}"] = st["exp_avg_sq"].cpu().contiguous()
        adam_steps[name] = float(st["step"])
    tensors["rng.generator"] = gen.get_state().cpu().contiguous()
    meta = {"format": "hyperseg-checkpoint", "version": 1, "config": cfg.to_dict(), "step": step,
            "adam": {"param_groups": [{k: v for k, v in g.items() if k != "params"} for g in state["param_groups"]], "steps": adam_steps}}
    atomic_write(p, lambda t: save_file(tensors, str(t)))
    atomic_write(Path(path + ".json"), lambda t: t.write_text(json.dumps(meta, indent=1)))


def load_checkpoint(path: str, device: torch.device):
    meta = json.loads(Path(path + ".json").read_text())
    if meta.get("format") != "hyperseg-checkpoint":
        raise ValueError(f"{path}.json is not a hyperseg checkpoint")
    cfg = ModelConfig.from_dict(meta["config"])
    model = HyperbolicVAE(cfg).to(device)
    tensors = load_file(path)
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    names = [n for n, _ in model.named_parameters()]
    state = {"state": {}, "param_groups": [{**meta["adam"]["param_groups"][0], "params": list(range(len(names)))}]}
    for i, name in enumerate(names):
        if f"adam.exp_avg.{name}" in tensors:
            state["state"][i] = {
                "step": torch.tensor(meta["adam"]["steps"][name]),
                "exp_avg": tensors[f"adam.exp_avg.{name}"].to(device),
                "exp_avg_sq": tensors[f"adam.exp_avg_sq.{name}"].to(device),
            }
    opt.load_state_dict(state)
    gen = torch.Generator(device=device)
    gen.set_state(tensors["rng.generator"])
    return model, opt, cfg, int(meta["step"]), gen
