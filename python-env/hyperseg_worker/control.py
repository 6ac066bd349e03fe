"""Control-plane functions called from TypeScript through pythonia (low volume, no tensors on the
wire): probing the Python environment, and converting a PyTorch state_dict into our safetensors
weights."""

from __future__ import annotations

import json
import sys


def probe() -> str:
    """JSON: Python, torch, CUDA devices, threads and the worker's dependencies."""
    out = {"python": sys.version.split()[0], "executable": sys.executable}
    for mod in ["numpy", "torch", "zmq", "pyarrow", "safetensors"]:
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", "?")
        except Exception as e:  # report, don't fail: doctor is for diagnosing exactly this
            out[mod] = None
            out[f"{mod}_error"] = f"{type(e).__name__}: {e}"
    try:
        import torch

        out["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
        out["threads"] = torch.get_num_threads()
    except Exception:
        out["cuda"] = []
    return json.dumps(out)


def import_checkpoint(src: str, dst: str, config_json: str) -> str:
    """Loads a state_dict of our model from a .pt file (torch.load with weights_only where torch
    supports it), checks names and shapes against the model built from `config_json`, and writes
    safetensors to `dst` plus `dst.json` (the configuration). Returns a JSON summary."""
    import os

    import torch
    from safetensors.torch import save_file

    from .model import ModelConfig, HyperbolicVAE

    import inspect
    import pickle

    # Only torch's weights-only unpickler, never a full unpickle: a .pt file is a pickle, and a full load
    # runs whatever code the file names. (A fallback on TypeError did exactly that, because the weights-only
    # unpickler itself raises TypeError for some crafted files.)
    if "weights_only" not in inspect.signature(torch.load).parameters:
        raise ValueError(f"{src}: this torch ({torch.__version__}) cannot load .pt files without running the code "
                         "they may carry (no weights_only); convert the file with torch >= 1.13 to safetensors")
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, TypeError, ValueError, AttributeError, EOFError) as e:
        raise ValueError(f"{src}: not a plain state_dict that loads without running code ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}); only tensors, dicts and lists are accepted") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{src}: expected a state_dict (a dict of tensors), got {type(obj).__name__}")
    obj = {k[len("module."):] if k.startswith("module.") else k: v for k, v in obj.items()}
    cfg = ModelConfig.from_dict(json.loads(config_json or "{}"))
    ref = HyperbolicVAE(cfg).state_dict()
    missing = sorted(set(ref) - set(obj))
    extra = sorted(set(obj) - set(ref))
    if missing or extra:
        raise ValueError(f"{src}: does not match the '{cfg.preset}' model: missing {missing[:5]}, unexpected {extra[:5]}")
    for k, v in obj.items():
        if tuple(v.shape) != tuple(ref[k].shape):
            raise ValueError(f"{src}: '{k}' has shape {list(v.shape)}, the model expects {list(ref[k].shape)}")
    tmp = dst + ".tmp"
    save_file({k: v.detach().float().contiguous() for k, v in obj.items()}, tmp)
    os.replace(tmp, dst)
    with open(dst + ".json", "w") as f:
        json.dump({"format": "hyperseg-weights", "version": 1, "config": cfg.to_dict(), "source": src}, f, indent=1)
    return json.dumps({"tensors": len(obj), "parameters": int(sum(v.numel() for v in obj.values())), "preset": cfg.preset, "out": dst})
