#!/usr/bin/env python3
"""Golden messages for the wire protocol (proto/PROTOCOL.md), with frames written by pyarrow.

Each case: the envelope, the tensors (name, dtype, shape, values), and the frames as base64.
The TypeScript tests decode these frames and compare values; the Python tests decode frames written
by the TypeScript codec. Values, not bytes, are compared across writers.

Run:  python proto/vectors/generate_messages.py > proto/vectors/messages.json
"""

import base64
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python-env"))
from hyperseg_worker.protocol import encode_message  # noqa: E402


def case(name, env, tensors):
    frames = encode_message(env, tensors)
    return {
        "name": name,
        "envelope": json.loads(frames[0]),
        "tensors": [{"name": k, "dtype": str(v.dtype), "shape": list(v.shape), "values": v.reshape(-1).tolist()} for k, v in tensors.items()],
        "frames": [base64.b64encode(f).decode() for f in frames],
    }


def main():
    rng = np.random.default_rng(20211206)
    cases = [
        case("hello request", {"v": 1, "id": 1, "op": "hello", "args": {}}, {}),
        case("hello reply", {"v": 1, "id": 1, "ok": True, "result": {"protocol": 1, "torch": "2.1.0", "device": "cpu", "threads": 2}}, {}),
        case("encode request", {"v": 1, "id": 7, "op": "encode", "args": {}}, {"patches": rng.standard_normal((2, 1, 3, 3, 3)).astype(np.float32)}),
        case("encode reply", {"v": 1, "id": 7, "ok": True, "result": {"seconds": 0.25}}, {
            "mu": (rng.standard_normal((2, 2)) * 0.3).astype(np.float32),
            "scale": rng.random((2, 2)).astype(np.float32) + 0.1,
        }),
        case("all dtypes", {"v": 1, "id": 4294967295, "op": "set_weights", "args": {}}, {
            "a.float64": rng.standard_normal((3, 2)),
            "b.int32": np.arange(-3, 3, dtype=np.int32).reshape(2, 3),
            "c.uint8": np.arange(250, 256, dtype=np.uint8),
            "d.scalar": np.array(1.5, dtype=np.float32),
            "e.empty": np.zeros((0, 4), dtype=np.float32),
        }),
        case("error reply", {"v": 1, "id": 9, "ok": False, "error": {"code": "BAD_SHAPE", "message": "patches must be [B, 1, 10, 10, 10], got [4, 10, 10, 10]"}}, {}),
    ]
    json.dump({"protocol": 1, "generator": "proto/vectors/generate_messages.py (pyarrow)", "cases": cases}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
