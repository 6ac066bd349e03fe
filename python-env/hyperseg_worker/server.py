"""The compute worker: a ZeroMQ ROUTER serving the operations of proto/PROTOCOL.md for one model.

    python -m hyperseg_worker.server --endpoint ipc:///tmp/hs.sock [--device cpu|cuda[:N]] [--threads N]

Binds ipc:// or tcp on loopback only, unless --allow-remote (which then requires a CURVE secret key, the
clients' public keys or --any-client, and --files-root for file operations).
Prints "READY <endpoint>" on stdout once bound. Frames are read without copying (numpy views over the
ZeroMQ buffers, shared by torch); nothing from the wire is unpickled. Any bad message gets an error
reply and the worker goes on; SIGTERM and the shutdown op end it cleanly.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import torch
import zmq

from . import __version__
from .checkpoint import atomic_write
from .model import ModelConfig, NonFiniteLoss, build_model, optimiser_step, train_step
from .protocol import VERSION, ProtocolError, decode_message, encode_envelope, encode_message

# Inputs arrive as read-only views of the received frames; torch shares them without copying.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
OPS = ["hello", "ping", "init", "train_step", "encode", "encode_volume", "get_weights", "set_weights", "save", "load", "shutdown", "echo", "bench_train", "parity", "export_onnx", "join", "leave"]


def check_endpoint(endpoint: str, allow_remote: bool) -> None:
    if endpoint.startswith("ipc://") or endpoint.startswith("inproc://"):
        return
    if endpoint.startswith("tcp://"):
        host, _, port = endpoint[len("tcp://"):].rpartition(":")
        # libzmq took port 99999 modulo 2^16 and the worker announced a port it was not on
        if port != "*" and not (port.isdigit() and 1 <= int(port) <= 65535):
            raise SystemExit(f"hyperseg worker: {endpoint}: the port must be 1-65535 (or * for any free port), got {port!r}")
        if host in LOOPBACK or allow_remote:
            return
        raise SystemExit(f"hyperseg worker: refusing to bind {endpoint}: not loopback; pass --allow-remote with --curve-secret-key and --curve-client-keys to serve other hosts")
    raise SystemExit(f"hyperseg worker: unsupported endpoint {endpoint!r}; use ipc://PATH or tcp://127.0.0.1:PORT")


def read_client_keys(path: str) -> set[bytes]:
    """The CURVE public keys (Z85, 40 characters, one per line, anything after the key and a space ignored; a
    line that begins with `#` and is not a key is a comment) of the clients a worker serving other hosts lets in."""
    from zmq.utils import z85

    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise SystemExit(f"hyperseg worker: cannot read --curve-client-keys {path}: {e}") from None
    def is_key(token: str) -> bool:
        try:
            return len(token) == 40 and len(z85.decode(token)) == 32
        except ValueError:
            return False

    keys = set()
    for n, line in enumerate(lines, 1):
        # '#' is a Z85 character (a key may hold one): a line is a key when its first word is one, else a comment when
        # it begins with '#' (a key was cut at its '#' and the worker refused to start)
        words = line.split()
        if not words:
            continue
        if is_key(words[0]):
            keys.add(words[0].encode())
        elif not words[0].startswith("#"):
            raise SystemExit(f"hyperseg worker: --curve-client-keys {path}, line {n}: not a Z85 CURVE public key (40 characters): {words[0][:48]!r}")
    if not keys:
        raise SystemExit(f"hyperseg worker: --curve-client-keys {path} lists no keys")
    return keys


class ClientKeys:
    """The ZAP handler's question, per connecting client: is its CURVE public key listed? A refused key is said
    once on stderr (ZeroMQ reconnects every 0.1 s)."""

    def __init__(self, keys: set[bytes]):
        self.keys = keys
        self.refused: set[bytes] = set()

    def callback(self, domain, key: bytes) -> bool:
        if key in self.keys:
            return True
        if key not in self.refused:
            self.refused.add(key)
            print(f"hyperseg worker: refused a client whose CURVE public key {key.decode()} is not in --curve-client-keys", file=sys.stderr, flush=True)
        return False


def int_arg(args, key, default, lo, hi):
    """An integer argument in [lo, hi] (not a bool, a float or a string), else BAD_MESSAGE naming it: a seed of
    "x" or a batch of -1 reached torch and came back as INTERNAL."""
    v = args.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ProtocolError("BAD_MESSAGE", f"{key} must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def float_arg(args, key, default, lo, hi):
    """A finite number in [lo, hi], else BAD_MESSAGE (json.loads accepts NaN and Infinity)."""
    v = args.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise ProtocolError("BAD_MESSAGE", f"{key} must be a finite number in [{lo}, {hi}], got {v!r}")
    return float(v)


class Worker:
    def __init__(self, device: str, threads: int, max_bytes: int):
        self.device = torch.device(device)
        self.threads = threads
        self.max_bytes = max_bytes
        self.model = None
        self.opt = None
        self.cfg: ModelConfig | None = None
        self.gen: torch.Generator | None = None
        self.step = 0
        self.stop = False
        self.allow_remote = False
        self.files_root: Path | None = None  # --files-root: save, load and export_onnx stay under it
        self.world = 1  # > 1 once in a data-parallel group (op_join)

    # ----- helpers -----
    def need_model(self):
        if self.model is None:
            raise ProtocolError("NOT_INITIALISED", "no model: send init first")

    def file_path(self, op: str, args) -> str:
        """The `path` argument of a file operation. A worker serving other hosts (--allow-remote) reads and
        writes files only under --files-root, resolved (`..` and symbolic links followed) before the check:
        a client that merely holds the worker's public key could otherwise overwrite any file the worker's
        user may write (`save` writes weights the client chose with set_weights). The operation then reaches
        the file from the root without following links (checkpoint.open_folder), so a link made after this
        check fails it rather than leading outside."""
        path = args.get("path")
        if not isinstance(path, str) or not path or "\0" in path:
            raise ProtocolError("BAD_MESSAGE", f"{op}: path must be a non-empty string, got {path!r}")
        if self.files_root is None:
            if self.allow_remote:
                raise ProtocolError("IO", f"{op} {path}: this worker serves other hosts (--allow-remote) and reads or "
                                          "writes files only under its --files-root DIR, which was not given")
            return path
        real = Path(os.path.realpath(path))
        if self.files_root not in real.parents:  # the root itself too: its temporary file went beside it, outside
            raise ProtocolError("IO", f"{op} {path}: outside this worker's --files-root {self.files_root}")
        if real.is_dir():
            raise ProtocolError("IO", f"{op} {path}: is a folder, not a file")
        return str(real)

    def tensor(self, tensors: dict, name: str, ndim: int | None = None, dtype=np.float32) -> torch.Tensor:
        if name not in tensors:
            raise ProtocolError("BAD_SHAPE", f"missing tensor '{name}'")
        arr = tensors[name]
        if arr.dtype != dtype:
            raise ProtocolError("BAD_SHAPE", f"tensor '{name}' must be {np.dtype(dtype).name}, got {arr.dtype}")
        if ndim is not None and arr.ndim != ndim:
            raise ProtocolError("BAD_SHAPE", f"tensor '{name}' must have {ndim} dimensions, got shape {list(arr.shape)}")
        if not np.isfinite(arr).all():
            raise ProtocolError("NON_FINITE", f"tensor '{name}' holds NaN or Inf values")
        return torch.from_numpy(arr).to(self.device)

    def patches(self, tensors: dict, name: str) -> torch.Tensor:
        t = self.tensor(tensors, name, 5)
        m = self.cfg.m
        if tuple(t.shape[1:]) != (1, m, m, m) or t.shape[0] < 1:
            raise ProtocolError("BAD_SHAPE", f"{name} must be [B, 1, {m}, {m}, {m}], got {list(t.shape)}")
        return t

    # ----- operations -----
    def op_hello(self, args, tensors):
        cuda = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
        return {
            "protocol": VERSION, "worker": __version__, "python": sys.version.split()[0], "torch": torch.__version__,
            "device": str(self.device), "threads": torch.get_num_threads(), "cuda": cuda, "ops": OPS,
        }, {}

    def op_ping(self, args, tensors):
        return {"pong": True, "time": time.time()}, {}

    def op_init(self, args, tensors):
        seed = int_arg(args, "seed", 0, 0, 2 ** 63 - 2)
        config = args.get("config") or {}
        if not isinstance(config, dict):
            raise ProtocolError("BAD_CONFIG", f"config must be an object, got {type(config).__name__}")
        try:
            model, opt, cfg = build_model(config, seed)
        except (ValueError, TypeError) as e:
            raise ProtocolError("BAD_CONFIG", str(e)) from None
        self.model, self.opt, self.cfg = model.to(self.device), None, cfg
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.gen = torch.Generator(device=self.device).manual_seed(seed + 1)
        self.step = 0
        return {"config": cfg.to_dict(), "parameters": sum(p.numel() for p in self.model.parameters())}, {}

    def op_train_step(self, args, tensors):
        self.need_model()
        a, p, n = (self.patches(tensors, k) for k in ("anchor", "positive", "negative"))
        if not a.shape == p.shape == n.shape:
            raise ProtocolError("BAD_SHAPE", f"anchor, positive and negative must have the same shape, got {list(a.shape)}, {list(p.shape)}, {list(n.shape)}")
        t0 = time.perf_counter()
        if "shard" in args:
            try:
                lo, total = int(args["shard"][0]), int(args["shard"][1])
                assert 0 <= lo and lo + a.shape[0] <= total
            except (TypeError, ValueError, IndexError, KeyError, AssertionError):
                raise ProtocolError("BAD_MESSAGE", f"shard must be [first triplet, batch size] covering this shard of {a.shape[0]}") from None
            if self.world < 2:
                raise ProtocolError("BAD_MESSAGE", "a sharded train_step needs a data-parallel group: send join first")
        elif self.world > 1:
            raise ProtocolError("BAD_MESSAGE", "this worker is in a data-parallel group: every train_step must name its shard")
        try:
            out = train_step(self.model, self.opt, a, p, n, self.gen, shard=(lo, total) if "shard" in args else None, step=self.step)
        except NonFiniteLoss as e:
            raise ProtocolError("NON_FINITE", str(e)) from None
        self.step += 1
        return {**out, "step": self.step, "seconds": time.perf_counter() - t0}, {}

    def op_encode(self, args, tensors):
        self.need_model()
        x = self.patches(tensors, "patches")
        t0 = time.perf_counter()
        self.model.eval()
        with torch.no_grad():
            mu, scale = self.model.encode(x)
        return {"seconds": time.perf_counter() - t0}, {"mu": mu.cpu().numpy(), "scale": scale.cpu().numpy()}

    def op_encode_volume(self, args, tensors):
        self.need_model()
        vol = self.tensor(tensors, "volume", 3)
        try:
            stride, origin = int(args["stride"]), int(args["origin"])
            out_shape = tuple(int(s) for s in args["out_shape"])
            assert len(out_shape) == 3 and stride >= 1 and origin >= 0
        except (KeyError, ValueError, TypeError, AssertionError):
            raise ProtocolError("BAD_MESSAGE", "encode_volume needs args stride (≥ 1), origin (≥ 0) and out_shape [Do, Ho, Wo]") from None
        t0 = time.perf_counter()
        self.model.eval()
        with torch.no_grad():
            try:
                mu = self.model.encode_dense(vol, stride, origin, out_shape)
            except ValueError as e:
                raise ProtocolError("BAD_CONFIG", str(e)) from None
            except RuntimeError as e:  # a volume too small for its windows (conv3d's own message was all it said, as INTERNAL)
                raise ProtocolError("BAD_SHAPE", f"volume {list(vol.shape)} does not hold {list(out_shape)} windows at stride {stride} "
                                                 f"from origin {origin}: {str(e).splitlines()[0]}") from None
        if tuple(mu.shape[:3]) != out_shape:
            raise ProtocolError("BAD_SHAPE", f"volume {list(vol.shape)} yields {list(mu.shape[:3])} windows, fewer than out_shape {list(out_shape)}")
        return {"seconds": time.perf_counter() - t0}, {"mu": mu.contiguous().cpu().numpy()}

    def op_get_weights(self, args, tensors):
        self.need_model()
        sd = self.model.state_dict()
        return {"names": list(sd), "step": self.step}, {k: v.detach().cpu().numpy() for k, v in sd.items()}

    def op_set_weights(self, args, tensors):
        self.need_model()
        sd = self.model.state_dict()
        missing = set(sd) - set(tensors)
        extra = set(tensors) - set(sd)
        if missing or extra:
            raise ProtocolError("BAD_SHAPE", f"weights do not match the model: missing {sorted(missing)[:5]}, unexpected {sorted(extra)[:5]}")
        for k, v in tensors.items():
            if tuple(v.shape) != tuple(sd[k].shape):
                raise ProtocolError("BAD_SHAPE", f"weight '{k}' must have shape {list(sd[k].shape)}, got {list(v.shape)}")
            # as every other input: a float dtype and finite values (uint8 weights were cast silently, and NaN
            # weights made every later encode return NaN)
            if v.dtype not in (np.float32, np.float64):
                raise ProtocolError("BAD_SHAPE", f"weight '{k}' must be float32 (or float64), got {v.dtype}")
            if not np.isfinite(v).all():
                raise ProtocolError("NON_FINITE", f"weight '{k}' holds {int((~np.isfinite(v)).sum())} NaN or Inf value(s)")
        self.model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in tensors.items()})
        return {"loaded": len(tensors)}, {}

    def op_save(self, args, tensors):
        self.need_model()
        from .checkpoint import save_checkpoint

        path = self.file_path("save", args)
        try:
            save_checkpoint(path, self.model, self.opt, self.cfg, self.step, self.gen, root=self.files_root)
        except OSError as e:
            raise ProtocolError("IO", f"cannot write checkpoint {path}: {e}") from None
        return {"path": path, "step": self.step}, {}

    def op_load(self, args, tensors):
        from .checkpoint import load_checkpoint

        path = self.file_path("load", args)
        self.file_path("load", {"path": path + ".json"})  # its sidecar too: a link there read a file outside the root
        try:
            model, opt, cfg, step, gen = load_checkpoint(path, self.device, root=self.files_root)
        except (OSError, ValueError, KeyError) as e:
            raise ProtocolError("IO", f"cannot load checkpoint {path}: {e}") from None
        self.model, self.opt, self.cfg, self.step, self.gen = model, opt, cfg, step, gen
        return {"path": path, "step": step, "config": cfg.to_dict()}, {}

    def op_bench_train(self, args, tensors):
        """`steps` train steps on one random batch of `batch` triplets, in a plain Python loop (the
        baseline for the orchestration overhead of TypeScript-driven training)."""
        self.need_model()
        steps, b = int_arg(args, "steps", 10, 1, 100_000), int_arg(args, "batch", 32, 1, 65_536)
        m = self.cfg.m
        g = torch.Generator().manual_seed(0)
        x = [torch.randn(b, 1, m, m, m, generator=g).to(self.device) for _ in range(3)]
        train_step(self.model, self.opt, *x, self.gen)  # warm-up
        t0 = time.perf_counter()
        for _ in range(steps):
            train_step(self.model, self.opt, *x, self.gen)
        return {"steps": steps, "batch": b, "seconds": time.perf_counter() - t0}, {}

    def op_parity(self, args, tensors):
        """One training step on given inputs and fixed noise `eps` [K, 3B, d], reporting every
        intermediate the parity suite compares: mu, scale, the decoder's first-layer output, the
        reconstruction, the loss terms, every gradient (grad.<name>) and every parameter after one
        Adam step (step.<name>). The model is left as it was (weights and optimiser restored)."""
        self.need_model()
        a, p, n = (self.patches(tensors, k) for k in ("anchor", "positive", "negative"))
        eps = self.tensor(tensors, "eps", 3)
        if tuple(eps.shape) != (self.cfg.samples, 3 * a.shape[0], self.cfg.latent_dim):
            raise ProtocolError("BAD_SHAPE", f"eps must be [{self.cfg.samples}, {3 * a.shape[0]}, {self.cfg.latent_dim}], got {list(eps.shape)}")
        try:
            step = int(args.get("step", self.step))
            assert step >= 0
        except (TypeError, ValueError, AssertionError):
            raise ProtocolError("BAD_MESSAGE", f"step must be an integer >= 0, got {args.get('step')!r}") from None
        import copy

        saved_model = copy.deepcopy(self.model.state_dict())
        saved_opt = copy.deepcopy(self.opt.state_dict())
        self.model.train()
        self.opt.zero_grad(set_to_none=True)
        out = self.model.loss(a, p, n, eps=eps, step=step)
        out["loss"].backward()
        with torch.no_grad():
            dec_in = self.model.dec_in(out["z"].reshape(-1, 1, self.cfg.latent_dim, 1, 1, 1)).flatten(1) if self.cfg.gyroconv else None
        result = {k: float(out[k].detach()) for k in ("loss", "elbo", "recon", "kl", "triplet")}
        res_t = {"mu": out["mu"].detach().numpy(), "scale": out["scale"].detach().numpy(), "xhat": out["xhat"].detach().numpy()}
        if dec_in is not None:
            res_t["dec_in"] = dec_in.numpy()
        for name, prm in self.model.named_parameters():
            res_t[f"grad.{name}"] = (prm.grad if prm.grad is not None else torch.zeros_like(prm)).detach().numpy().copy()  # unused (the autoencoder's scale head): zero
        optimiser_step(self.model, self.opt, step)
        for name, prm in self.model.named_parameters():
            res_t[f"step.{name}"] = prm.detach().numpy().copy()
        self.model.load_state_dict(saved_model)
        self.opt.load_state_dict(saved_opt)
        return result, res_t

    def op_join(self, args, tensors):
        """Joins a torch.distributed process group for data-parallel training (gloo on CPU, NCCL on
        CUDA): `rank`, `world`, `init_method` (tcp://HOST:PORT, loopback unless the worker serves other
        hosts), `timeout` seconds for the rendezvous. Every member must be sent join at once."""
        import datetime

        import torch.distributed as dist

        try:
            rank, world, init = int(args["rank"]), int(args["world"]), str(args["init_method"])
            assert 0 <= rank < world and world >= 2
        except (KeyError, TypeError, ValueError, AssertionError):
            raise ProtocolError("BAD_MESSAGE", "join needs rank, world (≥ 2, rank < world) and init_method") from None
        if not init.startswith("tcp://"):
            raise ProtocolError("BAD_MESSAGE", f"init_method must be tcp://HOST:PORT, got {init!r}")
        host = init[len("tcp://"):].rsplit(":", 1)[0]
        if host not in LOOPBACK and not self.allow_remote:
            raise ProtocolError("BAD_MESSAGE", f"refusing rendezvous at {init}: not loopback (start the worker with --allow-remote)")
        if dist.is_initialized():
            raise ProtocolError("BAD_MESSAGE", f"already rank {dist.get_rank()} of a group of {dist.get_world_size()}")
        backend = "nccl" if self.device.type == "cuda" else "gloo"
        try:
            dist.init_process_group(backend, init_method=init, rank=rank, world_size=world, timeout=datetime.timedelta(seconds=float_arg(args, "timeout", 60, 1, 86_400)))
        except RuntimeError as e:
            raise ProtocolError("INTERNAL", f"rendezvous at {init} failed: {e}") from None
        self.world = world
        return {"rank": rank, "world": world, "backend": backend}, {}

    def op_leave(self, args, tensors):
        """Leaves the data-parallel group, if any (the worker is an ordinary one again and may join
        another group: a client that closes, or re-forms its group after a member died, sends it)."""
        import torch.distributed as dist

        left = dist.is_initialized()
        if left:
            dist.destroy_process_group()
        self.world = 1
        return {"left": left}, {}

    def op_export_onnx(self, args, tensors):
        """The encoder (patches [B, 1, m, m, m] -> mu, scale) as an ONNX graph at `path`, batch size
        dynamic, for ONNX Runtime in TypeScript (inference without Python)."""
        self.need_model()
        path = self.file_path("export_onnx", args)
        class Encoder(torch.nn.Module):
            def __init__(self, vae):
                super().__init__()
                self.vae = vae  # a submodule: its parameters are exported as initialisers

            def forward(self, x):
                return self.vae.encode(x)

        m = self.cfg.m
        x = torch.zeros(2, 1, m, m, m, device=self.device)
        self.model.eval()

        def export(f):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(Encoder(self.model), x, f, input_names=["patches"], output_names=["mu", "scale"],
                                  dynamic_axes={"patches": {0: "B"}, "mu": {0: "B"}, "scale": {0: "B"}}, opset_version=13)

        try:
            atomic_write(Path(path), export, root=self.files_root)  # a random temporary name: PATH.tmp could be a link placed in advance
        except OSError as e:
            raise ProtocolError("IO", f"cannot write {path}: {e}") from None
        return {"path": path}, {}

    def op_shutdown(self, args, tensors):
        self.stop = True
        return {"bye": True}, {}

    # ----- dispatch -----
    def handle(self, frames) -> list:
        """Reply frames for one request. `frames` are zmq.Frame objects (or bytes-like): echo sends
        the received Frames back as they are, which ZeroMQ forwards without copying or tracking."""
        rid = 0
        try:
            env, tensors = decode_message([getattr(f, "buffer", f) for f in frames], self.max_bytes)
            rid = env.get("id", 0)
            op = env.get("op")
            if op == "echo":  # transport benchmark: the received frames go back as they are
                return [encode_envelope({"v": VERSION, "id": rid, "ok": True, "result": {}, "tensors": env.get("tensors", [])}), *frames[1:]]
            if op not in OPS:
                raise ProtocolError("UNKNOWN_OP", f"unknown operation {op!r}; expected one of {', '.join(OPS)}")
            args = env.get("args") or {}
            if not isinstance(args, dict):
                raise ProtocolError("BAD_MESSAGE", "args must be an object")
            result, out = getattr(self, f"op_{op}")(args, tensors)
            return encode_message({"v": VERSION, "id": rid, "ok": True, "result": result}, out)
        except ProtocolError as e:
            rid = e.request_id or rid
            return encode_message({"v": VERSION, "id": rid, "ok": False, "error": {"code": e.code, "message": e.message}})
        except Exception as e:  # the worker must survive anything a request triggers
            traceback.print_exc(file=sys.stderr)
            text = f"{type(e).__name__}: {e}"
            if len(text) > 2000:  # exceptions may embed whole tensors
                text = text[:2000] + " …"
            return encode_message({"v": VERSION, "id": rid, "ok": False, "error": {"code": "INTERNAL", "message": text}})


def parent_gone(pid: int, ppid0: int) -> bool:
    """True when the process that started us has ended: we were re-parented (our direct parent
    exited, even if not yet reaped), or `pid` no longer exists (a wrapper script sat between us)."""
    if os.getppid() != ppid0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        pass
    return False


def deterministic_cuda() -> None:
    """Makes CUDA training repeat itself for a seed, as CPU training does (for a given thread count).

    Measured on an H200 without it: two runs of the paper preset with the same seed and data agreed for
    two steps, differed from step 3 (cuDNN's autotuned algorithms and atomic-add reductions) and were 10 %
    apart in loss by step 50. So cuDNN picks fixed, deterministic algorithms, cuBLAS gets a fixed workspace
    (CUBLAS_WORKSPACE_CONFIG, read when its first handle is made, so before any CUDA work), and an op with
    no deterministic kernel warns instead of failing. HYPERSEG_CUDA_DETERMINISTIC=0 turns this off."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="hyperseg-worker", description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    ap.add_argument("--max-message-bytes", type=int, default=2 ** 31,
                    help="largest tensor frame answered (TOO_LARGE above it); frames over it by more than 1 MiB are dropped with their connection")
    ap.add_argument("--allow-remote", action="store_true")
    ap.add_argument("--curve-secret-key", default=os.environ.get("HYPERSEG_CURVE_SECRET_KEY"),
                    help="Z85 CURVE secret key (required with --allow-remote); write it as --curve-secret-key=KEY, since a "
                         "Z85 key may begin with '-', or set HYPERSEG_CURVE_SECRET_KEY (kept out of the process list)")
    ap.add_argument("--curve-client-keys", help="a file of the CURVE public keys (Z85, one per line) of the clients allowed in; "
                                                "with --allow-remote this or --any-client is required (`hyperseg keygen` makes a client's pair)")
    ap.add_argument("--any-client", action="store_true", help="with --allow-remote: let in any client that has this worker's "
                                                              "public key (the connection is encrypted, the client not authenticated)")
    ap.add_argument("--files-root", help="save, load and export_onnx only under this folder (required with --allow-remote "
                                         "for those operations: remote training checkpoints into a run folder below it)")
    ap.add_argument("--parent-pid", type=int, help="exit when this process ends (set by the TypeScript backend for the workers it starts)")
    a = ap.parse_args(argv)
    check_endpoint(a.endpoint, a.allow_remote)
    if a.allow_remote and not a.curve_secret_key:
        raise SystemExit("hyperseg worker: --allow-remote requires --curve-secret-key (ZeroMQ CURVE encryption)")
    if a.allow_remote and not a.curve_client_keys and not a.any_client:
        raise SystemExit("hyperseg worker: --allow-remote requires --curve-client-keys FILE (the public keys of the clients "
                         "allowed in; `hyperseg keygen` makes a pair) or, to let in anyone with this worker's public key, --any-client")
    if a.curve_client_keys and not a.curve_secret_key:
        raise SystemExit("hyperseg worker: --curve-client-keys needs --curve-secret-key (CURVE)")
    client_keys = read_client_keys(a.curve_client_keys) if a.curve_client_keys else None
    if a.curve_secret_key is not None and len(a.curve_secret_key) != 40:
        raise SystemExit(f"hyperseg worker: a CURVE secret key is 40 Z85 characters, got {len(a.curve_secret_key)}")
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"hyperseg worker: --device {a.device} but torch {torch.__version__} sees no CUDA device")
    if a.device.startswith("cuda") and os.environ.get("HYPERSEG_CUDA_DETERMINISTIC", "1") != "0":
        deterministic_cuda()
    torch.set_num_threads(a.threads or os.cpu_count() or 1)
    worker = Worker(a.device, a.threads, a.max_message_bytes)
    worker.allow_remote = a.allow_remote
    if a.files_root is not None:
        root = Path(os.path.realpath(a.files_root))
        if not root.is_dir():
            raise SystemExit(f"hyperseg worker: --files-root {a.files_root} is not a folder")
        worker.files_root = root

    ctx = zmq.Context()
    auth = None
    if client_keys is not None:
        # ZeroMQ's ZAP handler in a thread: each CURVE handshake asks it whether the client's key is listed
        from zmq.auth.thread import ThreadAuthenticator

        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_curve_callback(domain="*", credentials_provider=ClientKeys(client_keys))
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)

    def close():
        sock.close(0)
        if auth is not None:
            auth.stop()
        ctx.term()

    def refuse(message):  # a start-up problem: one line, no traceback, the socket released
        close()
        raise SystemExit(f"hyperseg worker: {message}")

    # a frame far over the limit is dropped by libzmq as it arrives, with the connection, instead of being
    # buffered whole and then answered TOO_LARGE (a 400 MB frame to a 1 MB worker grew it by 390 MB); frames
    # a little over it (up to 1 MiB) still get the TOO_LARGE reply
    sock.setsockopt(zmq.MAXMSGSIZE, a.max_message_bytes + 2 ** 20)
    if a.curve_secret_key:
        sock.curve_server = True
        try:
            sock.curve_secretkey = a.curve_secret_key.encode()
        except zmq.ZMQError as e:
            refuse(f"the CURVE secret key is not a valid Z85 key ({e})")
        # what clients need (not secret): hyperseg reads it from HYPERSEG_CURVE_SERVER_KEY for --workers
        print(f"hyperseg worker: CURVE public key {zmq.curve_public(a.curve_secret_key.encode()).decode()} "
              "(clients: HYPERSEG_CURVE_SERVER_KEY=KEY hyperseg ... --workers ENDPOINT)", file=sys.stderr, flush=True)
        print(f"hyperseg worker: {'clients whose public keys are in ' + a.curve_client_keys + f' ({len(client_keys)})' if client_keys else 'any client with that key'} "
              "may connect", file=sys.stderr, flush=True)
    if "[" in a.endpoint:
        sock.setsockopt(zmq.IPV6, 1)  # tcp://[::1]:PORT is loopback, and libzmq binds IPv6 only when told
    try:
        sock.bind(a.endpoint)
    except zmq.ZMQError as e:  # a missing ipc folder, a port in use, an address not on this host
        refuse(f"cannot listen on {a.endpoint}: {e}")
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(flag=True))
    # a receive timeout (not a Poller) lets the loop notice SIGTERM; it costs nothing per message
    sock.setsockopt(zmq.RCVTIMEO, 200)
    ppid0 = os.getppid()
    print(f"READY {a.endpoint}", flush=True)
    try:
        while not stop["flag"] and not worker.stop:
            if a.parent_pid and parent_gone(a.parent_pid, ppid0):
                print(f"hyperseg worker: parent process {a.parent_pid} has ended; exiting", file=sys.stderr, flush=True)
                break
            try:
                frames = sock.recv_multipart(copy=False)
            except zmq.Again:
                continue
            identity, body = frames[0], frames[1:]
            reply = worker.handle(body)
            sock.send_multipart([identity.bytes, *reply], copy=False)
    finally:
        close()
        if a.endpoint.startswith("ipc://"):
            Path(a.endpoint[len("ipc://"):]).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
