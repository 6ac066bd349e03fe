/**
 * Codec for the wire protocol defined in proto/PROTOCOL.md: a JSON envelope frame followed by one
 * Arrow IPC stream per tensor (one non-nullable column, `shape` in the field metadata).
 *
 * Zero copy, both ways:
 *  - decoding: the column's values are a typed-array view over the received frame (apache-arrow
 *    reads aligned buffers in place);
 *  - encoding: `TensorFrame.allocate` lays out a complete IPC stream for a (name, dtype, shape) once
 *    and exposes its data region as a typed array; the producer (the triplet sampler, the volume
 *    resampler) writes straight into it, and the frame goes to the socket as it is.
 */

import { Field, Float32, Float64, Int32, RecordBatch, RecordBatchStreamWriter, Schema, Struct, Uint8, makeData, tableFromIPC } from 'apache-arrow';
import type { DataType } from 'apache-arrow';
import { HypersegError } from '../errors.js';

export const PROTOCOL_VERSION = 1;
export const MAX_ENVELOPE_BYTES = 65536;

export type DType = 'float32' | 'float64' | 'int32' | 'uint8';
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface Tensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export interface ErrorBlock {
  code: string;
  message: string;
}

export interface Envelope {
  v: number;
  id: number;
  op?: string;
  args?: Record<string, unknown>;
  ok?: boolean;
  result?: Record<string, unknown>;
  error?: ErrorBlock;
  tensors?: string[];
}

const ARROW: Record<DType, () => DataType> = {
  float32: () => new Float32(),
  float64: () => new Float64(),
  int32: () => new Int32(),
  uint8: () => new Uint8(),
};

const CTOR = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array } as const;

export function dtypeOf(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'uint8';
}

function bad(code: string, message: string): HypersegError {
  return new HypersegError('INVALID_INPUT', `protocol ${code}: ${message}`);
}

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export function encodeEnvelope(env: Envelope): Buffer {
  const bytes = Buffer.from(JSON.stringify(env), 'utf8');
  if (bytes.length > MAX_ENVELOPE_BYTES) throw bad('TOO_LARGE', `envelope of ${bytes.length} bytes exceeds ${MAX_ENVELOPE_BYTES}`);
  return bytes;
}

export function decodeEnvelope(frame: Uint8Array): Envelope {
  if (frame.byteLength > MAX_ENVELOPE_BYTES) throw bad('TOO_LARGE', `envelope of ${frame.byteLength} bytes exceeds ${MAX_ENVELOPE_BYTES}`);
  let env: unknown;
  try {
    env = JSON.parse(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8'));
  } catch (e) {
    throw bad('BAD_MESSAGE', `envelope is not JSON (${(e as Error).message})`);
  }
  if (env === null || typeof env !== 'object' || Array.isArray(env)) throw bad('BAD_MESSAGE', 'envelope must be a JSON object');
  const e = env as Envelope;
  if (e.v !== PROTOCOL_VERSION) {
    throw new HypersegError('UNSUPPORTED', `protocol version mismatch: message has v=${String(e.v)}, this client speaks v=${PROTOCOL_VERSION}`, {
      suggestion: 'run the worker from the same hyperseg version as the orchestrator',
    });
  }
  if (!Number.isInteger(e.id) || e.id < 0 || e.id >= 2 ** 32) throw bad('BAD_MESSAGE', `id must be an integer in [0, 2^32), got ${String(e.id)}`);
  if (e.tensors !== undefined && (!Array.isArray(e.tensors) || e.tensors.some((t) => typeof t !== 'string'))) throw bad('BAD_MESSAGE', 'tensors must be a list of names');
  return e;
}

function schemaFor(name: string, dtype: DType, shape: number[]): Schema {
  return new Schema([new Field(name, ARROW[dtype](), false, new Map([['shape', JSON.stringify(shape)]]))]);
}

function streamBytes(name: string, data: TypedArray, shape: number[]): Uint8Array {
  const dtype = dtypeOf(data);
  const schema = schemaFor(name, dtype, shape);
  const child = makeData({ type: ARROW[dtype](), length: data.length, data, nullCount: 0 } as never);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: data.length, children: [child], nullCount: 0 }));
  return RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
}

/** Decodes one tensor frame; `data` views the frame's memory when the frame is aligned. */
export function decodeTensor(frame: Uint8Array): Tensor {
  let table;
  try {
    table = tableFromIPC(frame);
  } catch (e) {
    throw bad('BAD_TENSOR', `tensor frame is not an Arrow IPC stream (${(e as Error).message})`);
  }
  const fields = table.schema.fields;
  if (fields.length !== 1) throw bad('BAD_TENSOR', `tensor frame must hold one column, got ${fields.length}`);
  const field = fields[0];
  const col = table.getChildAt(0);
  if (col === null || col.data.length > 1) throw bad('BAD_TENSOR', `tensor ${field.name}: expected one record batch`);
  const dtype = (Object.keys(ARROW) as DType[]).find((k) => ARROW[k]().toString() === field.type.toString());
  if (dtype === undefined) throw bad('BAD_TENSOR', `tensor ${field.name}: type ${field.type.toString()} is not one of float32, float64, int32, uint8`);
  let shape: number[];
  try {
    shape = JSON.parse(field.metadata.get('shape') ?? '') as number[];
    if (!Array.isArray(shape) || shape.some((s) => !Number.isInteger(s) || s < 0)) throw new Error('not a list of sizes');
  } catch {
    throw bad('BAD_TENSOR', `tensor ${field.name}: missing or invalid 'shape' metadata`);
  }
  const n = numel(shape);
  if (!Number.isSafeInteger(n) || col.length !== n) throw bad('BAD_TENSOR', `tensor ${field.name}: shape [${shape.join(', ')}] needs ${n} values, the column has ${col.length}`);
  if (col.nullCount > 0) throw bad('BAD_TENSOR', `tensor ${field.name}: nulls are not allowed`);
  // the batch's length is the sender's word: the data buffer must hold it (subarray cut a short one silently,
  // and a [4000] tensor came back with 258 values)
  const part = col.data[0];
  const values = n === 0 ? null : (part.values as TypedArray);
  if (values !== null && values.length < part.offset + n) {
    throw bad('BAD_TENSOR', `tensor ${field.name}: the record batch says ${n} values, its data buffer holds ${values.length - part.offset}`);
  }
  const data = values === null ? new CTOR[dtype](0) : values.subarray(part.offset, part.offset + n);
  return { name: field.name, dtype, shape, data };
}

/** Encodes one tensor as a fresh frame (a copy of `data`; use TensorFrame to avoid it). */
export function encodeTensor(t: Tensor): Uint8Array {
  if (t.data.length !== numel(t.shape)) throw bad('BAD_SHAPE', `tensor ${t.name}: shape [${t.shape.join(', ')}] needs ${numel(t.shape)} values, got ${t.data.length}`);
  return streamBytes(t.name, t.data, t.shape);
}

/**
 * A tensor frame laid out once for (name, dtype, shape), with `data` a typed-array view of its data
 * region: write the values into `data`, send `bytes`. No copy between producer and socket.
 */
export class TensorFrame<T extends TypedArray = TypedArray> {
  readonly bytes: Uint8Array;
  readonly data: T;
  readonly name: string;
  readonly shape: number[];

  private constructor(bytes: Uint8Array, data: T, name: string, shape: number[]) {
    this.bytes = bytes;
    this.data = data;
    this.name = name;
    this.shape = shape;
  }

  static allocate<D extends DType>(name: string, dtype: D, shape: number[]): TensorFrame<InstanceType<(typeof CTOR)[D]>> {
    const n = numel(shape);
    const bytes = streamBytes(name, new CTOR[dtype](n), shape);
    const view = decodeTensor(bytes).data;
    if (n > 0 && view.buffer !== bytes.buffer) throw new HypersegError('UNSUPPORTED', 'apache-arrow copied the data region: zero-copy frames unavailable');
    return new TensorFrame(bytes, view as InstanceType<(typeof CTOR)[D]>, name, shape);
  }
}

export interface Message {
  envelope: Envelope;
  tensors: Map<string, Tensor>;
}

/** Frames of a message: the envelope (with `tensors` filled in) then one frame per tensor. */
export function encodeMessage(env: Envelope, tensors: (Tensor | TensorFrame)[] = []): Uint8Array[] {
  const names = tensors.map((t) => t.name);
  const frames: Uint8Array[] = [encodeEnvelope({ ...env, tensors: names })];
  for (const t of tensors) frames.push(t instanceof TensorFrame ? t.bytes : encodeTensor(t));
  return frames;
}

export function decodeMessage(frames: Uint8Array[]): Message {
  if (frames.length === 0) throw bad('BAD_MESSAGE', 'empty message');
  const envelope = decodeEnvelope(frames[0]);
  const names = envelope.tensors ?? [];
  if (names.length !== frames.length - 1) throw bad('BAD_MESSAGE', `envelope lists ${names.length} tensor(s) but ${frames.length - 1} frame(s) follow`);
  const tensors = new Map<string, Tensor>();
  names.forEach((name, i) => {
    const t = decodeTensor(frames[i + 1]);
    if (t.name !== name) throw bad('BAD_TENSOR', `frame for '${name}' holds a column named '${t.name}'`);
    tensors.set(name, t);
  });
  return { envelope, tensors };
}
