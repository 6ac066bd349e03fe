/**
 * NumPy .npy files (format versions 1.0–3.0): reading float32/float64 matrices and writing arrays.
 * The format is a magic string, a version, a little header dict and raw C-order data
 * (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html); every header field is
 * validated before the data is viewed.
 */

import { readFile } from 'node:fs/promises';
import { HypersegError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

export interface NpyArray {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int32' | 'uint8' | 'int64';
  data: Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array;
}

const MAGIC = '\x93NUMPY';
const DESCR: Record<string, NpyArray['dtype']> = { '<f4': 'float32', '<f8': 'float64', '<i4': 'int32', '|u1': 'uint8', '<u1': 'uint8', '<i8': 'int64' };

/** Parses .npy bytes. Throws FILE_FORMAT / UNSUPPORTED / FILE_TRUNCATED naming `name`. */
export function parseNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  const bad = (msg: string): never => {
    throw new HypersegError('FILE_FORMAT', `${name}: ${msg}`);
  };
  if (bytes.length < 10 || String.fromCharCode(...bytes.subarray(0, 6)) !== MAGIC) bad('not a .npy file (missing \\x93NUMPY magic)');
  const major = bytes[6];
  if (major < 1 || major > 3) throw new HypersegError('UNSUPPORTED', `${name}: .npy format version ${major}.${bytes[7]} is not supported`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  if (bytes.length < hstart + hlen) throw new HypersegError('FILE_TRUNCATED', `${name}: header claims ${hlen} bytes, file has ${bytes.length - hstart}`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(hstart, hstart + hlen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) bad(`malformed header ${JSON.stringify(header.trim())}`);
  const dtype = DESCR[descr as string];
  if (dtype === undefined) {
    throw new HypersegError('UNSUPPORTED', `${name}: dtype '${descr}' is not supported; expected little-endian float32 ('<f4') or float64 ('<f8')`);
  }
  if (fortran === 'True') throw new HypersegError('UNSUPPORTED', `${name}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray`);
  const shape = (shapeText as string).split(',').map((t) => t.trim()).filter((t) => t.length > 0).map(Number);
  if (shape.some((v) => !Number.isInteger(v) || v < 0)) bad(`bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const width = { float32: 4, float64: 8, int32: 4, uint8: 1, int64: 8 }[dtype];
  const start = hstart + hlen;
  if (bytes.length - start < count * width) {
    throw new HypersegError('FILE_TRUNCATED', `${name}: expected ${count * width} bytes of data for shape (${shape.join(', ')}) ${dtype}, found ${bytes.length - start}`);
  }
  // Copy into a fresh, aligned buffer (a typed-array view needs an aligned offset; Buffer.slice
  // would share Node's pool instead of copying).
  const copy = new Uint8Array(count * width);
  copy.set(bytes.subarray(start, start + count * width));
  const buf = copy.buffer;
  const data =
    dtype === 'float32' ? new Float32Array(buf) : dtype === 'float64' ? new Float64Array(buf)
      : dtype === 'int32' ? new Int32Array(buf) : dtype === 'uint8' ? new Uint8Array(buf) : new BigInt64Array(buf);
  return { shape, dtype, data };
}

/** Reads a .npy file. */
export async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new HypersegError('FILE_NOT_FOUND', `${path}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
  }
  return parseNpy(bytes, path);
}

/** Encodes a C-order array as .npy version 1.0. */
export function encodeNpy(data: Float32Array | Float64Array | Int32Array | Uint8Array, shape: number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new HypersegError('SHAPE_MISMATCH', `shape (${shape.join(', ')}) needs ${count} values, got ${data.length}`);
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Float64Array ? '<f8' : data instanceof Int32Array ? '<i4' : '|u1';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = Buffer.alloc(10 + header.length + data.byteLength);
  out.write(MAGIC, 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Writes a .npy file atomically. */
export async function writeNpy(path: string, data: Float32Array | Float64Array | Int32Array | Uint8Array, shape: number[]): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape));
}
