"""Whether a trained encoder still works: dead ReLU channels and the spread of its codes (the figures
behind README's account of the paper preset's early spike).

    bash scripts/python-env.sh run scripts/probe-encoder.py CHECKPOINT DATA [--patches N] [--seed S] [--json]

CHECKPOINT: a worker checkpoint (RUN/checkpoints/step-*.safetensors with its .json sidecar). DATA: a
NIfTI volume, or a `hyperseg synth` folder (its first image). N patches of the model's m³ are cut at
seeded random places; for each encoder layer it reports how many channels are positive on at least
one voxel of one patch ("alive": a ReLU channel negative on every input gets no gradient and cannot
come back) and the mean activation; then the sd over the patches of each coordinate of mu (about 0:
the code no longer depends on the input) and the mean posterior scale. Not part of the test suite.
"""
import argparse
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python-env"))
from hyperseg_worker.checkpoint import load_checkpoint  # noqa: E402


def first_image(data: Path) -> Path:
    if data.is_dir():
        images = sorted((data / "images").glob("*.nii*"))
        if not images:
            raise SystemExit(f"{data}: no images/*.nii(.gz) in this folder (a `hyperseg synth` folder has them)")
        return images[0]
    return data


def probe(model, volume: np.ndarray, patches: int, seed: int) -> dict:
    m = model.cfg.m
    if min(volume.shape) < m:
        raise SystemExit(f"the volume {volume.shape} is smaller than the model's {m}³ patch")
    g = np.random.default_rng(seed)
    corners = [tuple(int(g.integers(0, n - m + 1)) for n in volume.shape) for _ in range(patches)]
    x = torch.tensor(np.stack([volume[i : i + m, j : j + m, k : k + m] for i, j, k in corners]), dtype=torch.float32)[:, None]
    layers = []
    model.eval()
    with torch.no_grad():
        h = x
        for conv in model.encoder:
            h = model.act(conv(h))
            alive = (h.flatten(2).amax(2) > 0).any(0)
            layers.append({"channels": int(h.shape[1]), "alive": int(alive.sum()), "mean_activation": float(h.mean())})
        mu, scale = model.encode(x)
    return {"patches": patches, "layers": layers, "mu_sd": mu.double().std(0).tolist(), "mu_mean": mu.double().mean(0).tolist(), "scale_mean": scale.double().mean(0).tolist()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("data", type=Path)
    ap.add_argument("--patches", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    model, _, _, step, _ = load_checkpoint(str(a.checkpoint), "cpu")
    image = first_image(a.data)
    r = {"checkpoint": str(a.checkpoint), "step": step, "image": str(image), **probe(model, np.asarray(nib.load(str(image)).dataobj, dtype=np.float32), a.patches, a.seed)}
    if a.json:
        print(json.dumps(r))
        return
    print(f"{a.checkpoint} (step {step}), {a.patches} patches of {image.name}")
    for i, layer in enumerate(r["layers"]):
        print(f"  layer {i}: {layer['alive']}/{layer['channels']} channels alive, mean activation {layer['mean_activation']:.4g}")
    print("  mu sd over patches " + ", ".join(f"{v:.3g}" for v in r["mu_sd"]) + "; mean scale " + ", ".join(f"{v:.3g}" for v in r["scale_mean"]))


if __name__ == "__main__":
    main()
