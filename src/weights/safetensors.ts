/**
 * safetensors (https://github.com/huggingface/safetensors): the one language-neutral weights format
 * both backends read and write. Layout: u64 little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the
 * raw little-endian tensor bytes. Parameter names and layouts are PyTorch's (state_dict order and
 * shapes); the TensorFlow.js backend converts layouts at use, in one place (tfjs/layout.ts).
 */

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../data/atomic.js';
import { HypersegError } from '../errors.js';
import type { DType, Tensor, TypedArray } from '../protocol/codec.js';

const TO_ST: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', uint8: 'U8' };
const FROM_ST: Record<string, DType> = { F32: 'float32', F64: 'float64', I32: 'int32', U8: 'uint8' };
const CTOR = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array } as const;

export function encodeSafetensors(tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.byteLength;
    header[name] = { dtype: TO_ST[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // align the data to 8 bytes
  const hlen = Buffer.byteLength(json);
  const out = Buffer.alloc(8 + hlen + offset);
  out.writeBigUInt64LE(BigInt(hlen), 0);
  out.write(json, 8, 'utf8');
  let pos = 8 + hlen;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, name = 'weights'): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const bad = (msg: string): never => {
    throw new HypersegError('FILE_FORMAT', `${name}: ${msg}`);
  };
  if (bytes.length < 8) bad('too short for a safetensors file');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = Number(dv.getBigUint64(0, true));
  if (hlen > 100_000_000 || 8 + hlen > bytes.length) bad(`header length ${hlen} does not fit a ${bytes.length}-byte file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, hlen).toString('utf8'));
  } catch (e) {
    return bad(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return bad('header is not a JSON object');
  const base = 8 + hlen;
  // the tensors' byte ranges end past the file: a truncated file, said as such (each tensor's own check below
  // would name the first tensor that does not fit, as if its offsets were wrong)
  const end = Math.max(0, ...Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, v]) => Number((v as { data_offsets?: unknown[] }).data_offsets?.[1]) || 0));
  if (base + end > bytes.length) {
    throw new HypersegError('FILE_TRUNCATED', `${name}: truncated: the file holds ${bytes.length} bytes, its header describes ${base + end}`, { suggestion: 'the file was cut short (an interrupted copy or download?): copy it again' });
  }
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [key, v] of Object.entries(header)) {
    if (key === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const info = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const dtype = FROM_ST[info.dtype];
    if (dtype === undefined) bad(`tensor ${key}: dtype ${info.dtype} is not supported (F32, F64, I32, U8)`);
    const [b, e] = info.data_offsets;
    const n = info.shape.reduce((x, y) => x * y, 1);
    if (!(e - b === n * CTOR[dtype].BYTES_PER_ELEMENT && base + e <= bytes.length)) bad(`tensor ${key}: data_offsets [${b}, ${e}] do not match shape [${info.shape}] ${dtype}`);
    const copy = new Uint8Array(e - b);
    copy.set(bytes.subarray(base + b, base + e)); // aligned, owned storage
    tensors.set(key, { name: key, dtype, shape: info.shape, data: new CTOR[dtype](copy.buffer) as TypedArray });
  }
  return { tensors, metadata };
}

export async function readSafetensors(path: string) {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new HypersegError('FILE_NOT_FOUND', `${path}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return decodeSafetensors(bytes, path);
}

export async function writeSafetensors(path: string, tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/**
 * A weights-only file (what `saveWeights` writes on either backend): the model's parameters under
 * PyTorch's names, the resolved model configuration in the metadata, so plain PyTorch rebuilds and
 * loads it and `segment --model FILE` needs no other description.
 */
export async function writeWeightsFile(path: string, tensors: Map<string, Tensor>, config: object): Promise<void> {
  await writeSafetensors(path, tensors, { format: 'hyperseg-weights', config: JSON.stringify(config) });
}

/**
 * The model parameters of a weights file: plain names as they are, or the `model.` entries of a
 * torch checkpoint (which also holds `adam.*` optimiser state and `rng.*`), renamed without the prefix.
 */
export function modelWeights(tensors: Map<string, Tensor>): Map<string, Tensor> {
  const prefixed = [...tensors.keys()].some((k) => k.startsWith('model.'));
  const out = new Map<string, Tensor>();
  for (const [k, v] of tensors) {
    if (prefixed && !k.startsWith('model.')) continue;
    const name = prefixed ? k.slice('model.'.length) : k;
    out.set(name, { ...v, name });
  }
  return out;
}
