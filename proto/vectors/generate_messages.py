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


def tensor_frame(name, values, shape_meta, fake_length=None):
    """One tensor frame written by pyarrow with `shape_meta` as its shape metadata (any JSON), and, with
    `fake_length`, the record batch's and field node's length rewritten to it (the data buffer unchanged)."""
    import pyarrow as pa

    arr = pa.array(values)
    field = pa.field(name, arr.type, nullable=False, metadata={"shape": json.dumps(shape_meta)})
    schema = pa.schema([field])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as w:
        w.write_batch(pa.record_batch([arr], schema=schema))
    frame = bytearray(sink.getvalue().to_pybytes())
    if fake_length is not None:
        body = frame.find(np.asarray(values).tobytes())
        old, new = len(values).to_bytes(8, "little"), fake_length.to_bytes(8, "little")
        count = 0
        i = frame.find(old, 0, body)
        while i != -1:  # the batch length and the field node's length, both in the metadata before the body
            frame[i:i + 8] = new
            count += 1
            i = frame.find(old, i + 8, body)
        assert count >= 2, count
    return base64.b64encode(bytes(frame)).decode()


def rejects():
    """Tensor frames every decoder must refuse with BAD_TENSOR (and never read past its buffer)."""
    values = np.arange(258, dtype=np.float32)
    return [
        {"name": "record batch longer than its data buffer", "code": "BAD_TENSOR",
         "frame": tensor_frame("patches", values, [4000], fake_length=4000)},
        {"name": "a 5-D shape whose length the batch claims over 258 values", "code": "BAD_TENSOR",
         "frame": tensor_frame("patches", values, [1000000, 1, 10, 10, 10], fake_length=10 ** 9)},
        {"name": "shape entries that are booleans", "code": "BAD_TENSOR",
         "frame": tensor_frame("patches", np.zeros(1, dtype=np.float32), [True])},
        {"name": "a shape whose product overflows 64 bits, over an empty column", "code": "BAD_TENSOR",
         "frame": tensor_frame("patches", np.zeros(0, dtype=np.float32), [2 ** 32, 2 ** 32])},
    ]


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
    json.dump({"protocol": 1, "generator": "proto/vectors/generate_messages.py (pyarrow)", "cases": cases, "rejects": rejects()}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
