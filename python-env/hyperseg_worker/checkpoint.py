"""Checkpoints without pickle: PATH (safetensors: model parameters, Adam moments, RNG state) and
PATH.json (configuration, step, optimiser hyper-parameters). Both written atomically."""

from __future__ import annotations

import io
import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from .model import HyperbolicVAE, ModelConfig


def open_folder(path: Path, root: Path | None = None, create: bool = False) -> int:
    """A descriptor of folder PATH, made first (with its parents) when CREATE. With ROOT (a worker's
    --files-root; PATH resolved and checked to lie under it), the folder is reached from ROOT one component
    at a time, each opened with O_NOFOLLOW: a component that a local user turns into a symbolic link after
    the check fails the operation instead of leading it outside the root."""
    if root is None:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in path.relative_to(root).parts:
            if create:
                try:
                    os.mkdir(part, dir_fd=fd)
                except FileExistsError:
                    pass
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        return fd
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def folder_of(path: Path, root: Path | None = None, create: bool = False):
    """open_folder(PATH's parent, ROOT, CREATE) for the length of a with block, closed after it."""
    folder = open_folder(path.parent, root, create)
    try:
        yield folder
    finally:
        os.close(folder)


def write_atomic(folder: int, name: str, data: bytes) -> None:
    """Writes DATA as NAME in the folder held by descriptor FOLDER: through a new temporary file with a random
    name, made with O_EXCL | O_NOFOLLOW (a predictable name could be a symbolic link placed in advance, and
    the write went through it), then renamed over NAME, which replaces NAME itself, never a file a link at
    NAME points to."""
    tmp = f".{name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=folder)
        except FileNotFoundError:
            pass
        raise


def read_in(folder: int, name: str, follow: bool) -> bytes:
    """The bytes of NAME in the folder held by FOLDER (not through a symbolic link unless FOLLOW)."""
    fd = os.open(name, os.O_RDONLY | (0 if follow else os.O_NOFOLLOW), dir_fd=folder)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def atomic_write(path: Path, write, root: Path | None = None) -> None:
    """Writes PATH atomically (write_atomic) from what WRITE(file object) puts in memory; under ROOT as open_folder says."""
    buf = io.BytesIO()
    write(buf)
    with folder_of(path, root) as folder:
        write_atomic(folder, path.name, buf.getvalue())


def save_checkpoint(path: str, model: HyperbolicVAE, opt: torch.optim.Adam, cfg: ModelConfig, step: int, gen: torch.Generator,
                    root: Path | None = None) -> None:
    """PATH and PATH.json, each written atomically; PATH resolved and under ROOT when ROOT is given (see open_folder)."""
    p = Path(path)
    if not path:
        raise OSError("empty path")
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
    with folder_of(p, root, create=True) as folder:
        write_atomic(folder, p.name, save_bytes(tensors))
        write_atomic(folder, p.name + ".json", json.dumps(meta, indent=1).encode())


def load_checkpoint(path: str, device: torch.device, root: Path | None = None):
    """A checkpoint written by save_checkpoint; PATH resolved and under ROOT when ROOT is given (see open_folder)."""
    p = Path(path)
    with folder_of(p, root) as folder:
        meta_bytes = read_in(folder, p.name + ".json", follow=root is None)
        data = read_in(folder, p.name, follow=root is None)
    meta = json.loads(meta_bytes)
    if meta.get("format") != "hyperseg-checkpoint":
        raise ValueError(f"{path}.json is not a hyperseg checkpoint")
    cfg = ModelConfig.from_dict(meta["config"])
    model = HyperbolicVAE(cfg).to(device)
    tensors = load_bytes(data)
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
