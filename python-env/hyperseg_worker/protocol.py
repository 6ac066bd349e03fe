"""Codec for the wire protocol of proto/PROTOCOL.md: JSON envelope + one Arrow IPC stream per tensor.

Decoding is zero-copy: Arrow buffers over the received ZeroMQ frames, viewed as numpy arrays.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa

VERSION = 1
MAX_ENVELOPE = 65536

DTYPES = {"float32": (pa.float32(), np.float32), "float64": (pa.float64(), np.float64), "int32": (pa.int32(), np.int32), "uint8": (pa.uint8(), np.uint8)}
ARROW_TO_NAME = {str(v[0]): k for k, v in DTYPES.items()}


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, request_id: int = 0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


def encode_envelope(env: dict) -> bytes:
    data = json.dumps(env, separators=(",", ":"), allow_nan=False).encode()
    if len(data) > MAX_ENVELOPE:
        raise ProtocolError("TOO_LARGE", f"envelope of {len(data)} bytes exceeds {MAX_ENVELOPE}")
    return data


def decode_envelope(frame) -> dict:
    buf = memoryview(frame)
    if buf.nbytes > MAX_ENVELOPE:
        raise ProtocolError("TOO_LARGE", f"envelope of {buf.nbytes} bytes exceeds {MAX_ENVELOPE}")
    try:
        env = json.loads(bytes(buf).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError("BAD_MESSAGE", f"envelope is not UTF-8 JSON: {e}") from None
    if not isinstance(env, dict):
        raise ProtocolError("BAD_MESSAGE", f"envelope must be a JSON object, got {type(env).__name__}")
    rid = env.get("id", 0)
    if not isinstance(rid, int) or isinstance(rid, bool) or not 0 <= rid < 2 ** 32:
        raise ProtocolError("BAD_MESSAGE", f"id must be an integer in [0, 2^32), got {rid!r}")
    if env.get("v") != VERSION or isinstance(env.get("v"), bool):  # True == 1 in Python
        raise ProtocolError("BAD_VERSION", f"protocol version mismatch: message has v={env.get('v')!r}, this worker speaks v={VERSION}", rid)
    names = env.get("tensors", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ProtocolError("BAD_MESSAGE", "tensors must be a list of names", rid)
    return env


def encode_tensor(name: str, array: np.ndarray) -> bytes:
    # np.ascontiguousarray would turn a 0-d scalar into shape (1,)
    array = np.asarray(array)
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    dtype = next((k for k, v in DTYPES.items() if v[1] == array.dtype), None)
    if dtype is None:
        raise ProtocolError("BAD_TENSOR", f"tensor {name}: dtype {array.dtype} is not one of {', '.join(DTYPES)}")
    field = pa.field(name, DTYPES[dtype][0], nullable=False, metadata={"shape": json.dumps(list(array.shape))})
    schema = pa.schema([field])
    batch = pa.record_batch([pa.array(array.reshape(-1), type=DTYPES[dtype][0])], schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as w:
        w.write_batch(batch)
    return sink.getvalue().to_pybytes()


def decode_tensor(frame, max_bytes: int | None = None) -> tuple[str, np.ndarray]:
    """(name, array) from one tensor frame; the array views the frame's memory (read-only)."""
    buf = memoryview(frame)
    if max_bytes is not None and buf.nbytes > max_bytes:
        raise ProtocolError("TOO_LARGE", f"tensor frame of {buf.nbytes} bytes exceeds {max_bytes}")
    try:
        reader = pa.ipc.open_stream(pa.py_buffer(buf))
        schema = reader.schema
        batches = list(reader)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as e:
        raise ProtocolError("BAD_TENSOR", f"tensor frame is not an Arrow IPC stream: {e}") from None
    if len(schema) != 1 or len(batches) != 1 or batches[0].num_columns != 1:
        raise ProtocolError("BAD_TENSOR", f"tensor frame must hold one column in one record batch, got {len(schema)} column(s) in {len(batches)} batch(es)")
    field = schema.field(0)
    meta = field.metadata or {}
    try:
        shape = json.loads(meta[b"shape"])
        # bool is an int in Python ([true] reshaped into a TypeError, INTERNAL)
        assert isinstance(shape, list) and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    except Exception:
        raise ProtocolError("BAD_TENSOR", f"tensor {field.name}: missing or invalid 'shape' metadata") from None
    col = batches[0].column(0)
    if col.null_count:
        raise ProtocolError("BAD_TENSOR", f"tensor {field.name}: nulls are not allowed")
    if str(col.type) not in ARROW_TO_NAME:
        raise ProtocolError("BAD_TENSOR", f"tensor {field.name}: type {col.type} is not one of {', '.join(DTYPES)}")
    n = math.prod(shape)  # exact: np.prod overflowed int64 to 0 for [2**32, 2**32], and an empty column passed
    if len(col) != n:
        raise ProtocolError("BAD_TENSOR", f"tensor {field.name}: shape {shape} needs {n} values, the column has {len(col)}")
    # the record batch's length is the sender's word: full validation checks the data buffer holds it (an
    # inflated length read past the frame, returning heap memory or crashing the worker)
    try:
        batches[0].validate(full=True)
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        raise ProtocolError("BAD_TENSOR", f"tensor {field.name}: the record batch does not hold its {len(col)} values: {e}") from None
    arr = col.to_numpy(zero_copy_only=True).reshape(shape)
    return field.name, arr


def encode_message(env: dict, tensors: dict[str, np.ndarray] | None = None) -> list[bytes]:
    tensors = tensors or {}
    env = {**env, "tensors": list(tensors)}
    return [encode_envelope(env)] + [encode_tensor(k, v) for k, v in tensors.items()]


def decode_message(frames, max_bytes: int | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    if not frames:
        raise ProtocolError("BAD_MESSAGE", "empty message")
    env = decode_envelope(frames[0])
    names = env.get("tensors", [])
    if len(names) != len(frames) - 1:
        raise ProtocolError("BAD_MESSAGE", f"envelope lists {len(names)} tensor(s) but {len(frames) - 1} frame(s) follow", env.get("id", 0))
    tensors = {}
    for name, frame in zip(names, frames[1:]):
        try:
            got, arr = decode_tensor(frame, max_bytes)
        except ProtocolError as e:
            e.request_id = env.get("id", 0)
            raise
        if got != name:
            raise ProtocolError("BAD_TENSOR", f"frame for '{name}' holds a column named '{got}'", env.get("id", 0))
        tensors[name] = arr
    return env, tensors
