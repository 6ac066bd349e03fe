/**
 * NIfTI-1 volumes (.nii and .nii.gz): streamed reading and atomic writing.
 *
 * Reading: the file is streamed (through zlib's gunzip when it starts with the gzip magic); the
 * first 348 bytes are parsed by nifti-reader-js (a well-kept parser whose header fields and
 * sform/qform affine we reuse), then validated here — magic, sizeof_hdr, dims, datatype, bitpix,
 * vox_offset, pixdim, and the voxel count against a limit the caller can raise — before one buffer of
 * exactly the voxel data's size is allocated and filled from the stream. nifti-reader-js's own
 * readImage needs the whole decompressed file in memory first, which is what we avoid.
 *
 * Policies: datatypes uint8, int16, int32, float32, float64 (others: UNSUPPORTED); 3-D volumes
 * (2-D is read as nz = 1; a 4th dimension > 1 is UNSUPPORTED); big-endian files are byte-swapped;
 * scl_slope/scl_inter are kept and applied by `scaledData` (slope 0 or non-finite = no scaling, as
 * the standard says); NaN/Inf voxels are rejected with NON_FINITE unless `nonFinite: 'zero'` asks
 * to replace them by 0 (the count is then reported in `sanitised`) or `'keep'` leaves them (for
 * `hyperseg info`, which reports them).
 *
 * Writing: header + data to a temporary file in the target folder, then rename, so a reader never
 * sees a partial file. Affine as sform (code 1, scanner) and qform (code 1) from the same matrix.
 */

import { kMaxLength } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { HypersegError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

export type NiftiDatatype = 'uint8' | 'int16' | 'int32' | 'float32' | 'float64';
export type VoxelArray = Uint8Array | Int16Array | Int32Array | Float32Array | Float64Array;

const DATATYPES: Record<number, { name: NiftiDatatype; bytes: number }> = {
  2: { name: 'uint8', bytes: 1 },
  4: { name: 'int16', bytes: 2 },
  8: { name: 'int32', bytes: 4 },
  16: { name: 'float32', bytes: 4 },
  64: { name: 'float64', bytes: 8 },
};
const CODES: Record<NiftiDatatype, number> = { uint8: 2, int16: 4, int32: 8, float32: 16, float64: 64 };
const HEADER_BYTES = 348;
const SINGLE_FILE_OFFSET = 352;

/** Default cap on the voxels of one volume (2³⁰ ≈ 1.07e9, 4 GiB as float32); raise with `maxVoxels`. */
export const DEFAULT_MAX_VOXELS = 2 ** 30;

export interface NiftiVolume {
  /** Spatial shape [nx, ny, nz] (x fastest in `data`). */
  shape: [number, number, number];
  /** Voxel size in the file's units (usually mm). */
  spacing: [number, number, number];
  /** 4 × 4 voxel-to-world matrix, row-major (sform if set, else qform, else pixdim diagonal). */
  affine: number[][];
  /**
   * The NIfTI code of the space `affine` maps into: the sform_code when the sform is used, else the qform_code
   * (1 scanner, 2 aligned, 3 Talairach, 4 MNI-152; 0 for the pixdim diagonal). Written back with it.
   */
  xformCode: number;
  datatype: NiftiDatatype;
  /** Voxel values as stored (native byte order after reading). */
  data: VoxelArray;
  /** scl_slope and scl_inter; slope = 1, inter = 0 when the file asks for no scaling. */
  slope: number;
  inter: number;
  /** Non-finite voxels replaced by 0 (only with nonFinite: 'zero'). */
  sanitised: number;
}

export interface ReadOptions {
  maxVoxels?: number;
  /** NaN/Inf voxels: 'error' (default), 'zero' (replace by 0, counted in `sanitised`), 'keep' (for inspection). */
  nonFinite?: 'error' | 'zero' | 'keep';
}

function fail(path: string, code: 'FILE_FORMAT' | 'FILE_TRUNCATED' | 'UNSUPPORTED' | 'TOO_LARGE' | 'NON_FINITE', msg: string, suggestion?: string): never {
  throw new HypersegError(code, `${path}: ${msg}`, { suggestion });
}

/** What `readNiftiHeader` returns: every volume field but the voxels. */
export type NiftiHeader = Omit<NiftiVolume, 'data' | 'sanitised'>;

interface ParsedHeader extends NiftiHeader {
  bytesPerVoxel: number;
  voxOffset: number;
  littleEndian: boolean;
}

function parseHeader(path: string, bytes: Uint8Array, maxVoxels: number): ParsedHeader {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + HEADER_BYTES) as ArrayBuffer;
  const dv = new DataView(ab);
  const le = dv.getInt32(0, true) === HEADER_BYTES;
  if (!le && dv.getInt32(0, false) !== HEADER_BYTES) {
    if (dv.getInt32(0, true) === 540 || dv.getInt32(0, false) === 540) fail(path, 'UNSUPPORTED', 'NIfTI-2 files are not supported (sizeof_hdr = 540)');
    fail(path, 'FILE_FORMAT', `not a NIfTI-1 file: sizeof_hdr is ${dv.getInt32(0, true)}, expected 348`);
  }
  const magic = String.fromCharCode(bytes[344], bytes[345], bytes[346]);
  if (magic === 'ni1') fail(path, 'UNSUPPORTED', 'header/image pairs (.hdr/.img, magic "ni1") are not supported; convert to a single .nii file');
  if (magic !== 'n+1' || bytes[347] !== 0) fail(path, 'FILE_FORMAT', `bad NIfTI-1 magic ${JSON.stringify(magic)}, expected "n+1"`);
  const h = new nifti.NIFTI1();
  h.readHeader(ab);
  const dims = h.dims;
  const ndim = dims[0];
  if (!(ndim >= 1 && ndim <= 7)) fail(path, 'FILE_FORMAT', `dim[0] must be 1..7, got ${ndim}`);
  for (let i = 1; i <= ndim; i++) {
    if (!(dims[i] >= 1)) fail(path, 'FILE_FORMAT', `dim[${i}] must be ≥ 1, got ${dims[i]}`);
  }
  for (let i = 4; i <= ndim; i++) {
    if (dims[i] > 1) fail(path, 'UNSUPPORTED', `expected a 3-D volume, got ${ndim}-D with dim[${i}] = ${dims[i]}`);
  }
  const shape: [number, number, number] = [dims[1], ndim >= 2 ? dims[2] : 1, ndim >= 3 ? dims[3] : 1];
  const dt = DATATYPES[h.datatypeCode];
  if (dt === undefined) {
    fail(path, 'UNSUPPORTED', `datatype code ${h.datatypeCode} is not supported; supported: uint8 (2), int16 (4), int32 (8), float32 (16), float64 (64)`);
  }
  if (h.numBitsPerVoxel !== dt.bytes * 8) fail(path, 'FILE_FORMAT', `bitpix ${h.numBitsPerVoxel} does not match datatype ${dt.name} (${dt.bytes * 8})`);
  const voxels = shape[0] * shape[1] * shape[2];
  if (voxels > maxVoxels) {
    fail(path, 'TOO_LARGE', `header claims ${shape.join('×')} = ${voxels} voxels, above the limit of ${maxVoxels}`, 'if the file is genuine, raise the limit with --max-voxels N (train, segment, ablate, evaluate, info; library: maxVoxels)');
  }
  const voxOffset = h.vox_offset;
  if (!Number.isInteger(voxOffset) || voxOffset < SINGLE_FILE_OFFSET) fail(path, 'FILE_FORMAT', `vox_offset must be an integer ≥ 352, got ${voxOffset}`);
  const spacing = [h.pixDims[1], h.pixDims[2], h.pixDims[3]].map((s, i) => (i < ndim ? Math.abs(s) : Math.abs(s) || 1)) as [number, number, number];
  for (const s of spacing) if (!(s > 0) || !Number.isFinite(s)) fail(path, 'FILE_FORMAT', `voxel spacing (pixdim[1..3]) must be finite and > 0, got [${spacing.join(', ')}]`);
  const affine = h.affine.map((row) => row.slice(0, 4));
  for (const row of affine) for (const v of row) if (!Number.isFinite(v)) fail(path, 'FILE_FORMAT', 'affine (sform/qform) has non-finite entries');
  const slopeOk = Number.isFinite(h.scl_slope) && h.scl_slope !== 0;
  const xformCode = h.sform_code > 0 ? h.sform_code : h.qform_code > 0 ? h.qform_code : 0;
  return {
    shape, spacing, affine, xformCode, datatype: dt.name, bytesPerVoxel: dt.bytes, voxOffset, littleEndian: le,
    slope: slopeOk ? h.scl_slope : 1,
    inter: slopeOk && Number.isFinite(h.scl_inter) ? h.scl_inter : 0,
  };
}

function view(buf: ArrayBuffer, datatype: NiftiDatatype): VoxelArray {
  switch (datatype) {
    case 'uint8': return new Uint8Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'float32': return new Float32Array(buf);
    case 'float64': return new Float64Array(buf);
  }
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** Reads the header only (streams the first bytes; does not read the voxel data). */
export async function readNiftiHeader(path: string, options: ReadOptions = {}): Promise<NiftiHeader> {
  const { header } = await streamNifti(path, options, false);
  const { shape, spacing, affine, xformCode, datatype, slope, inter } = header;
  return { shape, spacing, affine, xformCode, datatype, slope, inter };
}

/** Reads a NIfTI-1 volume (see the module header for what is validated and how). */
export async function readNifti(path: string, options: ReadOptions = {}): Promise<NiftiVolume> {
  const { header, data } = await streamNifti(path, options, true);
  const arr = view(data as ArrayBuffer, header.datatype);
  let sanitised = 0;
  if ((arr instanceof Float32Array || arr instanceof Float64Array) && options.nonFinite !== 'keep') {
    let first = -1;
    for (let i = 0; i < arr.length; i++) {
      if (!Number.isFinite(arr[i])) {
        if (first < 0) first = i;
        sanitised++;
        if (options.nonFinite === 'zero') arr[i] = 0;
      }
    }
    if (sanitised > 0 && options.nonFinite !== 'zero') {
      const [nx, ny] = header.shape;
      const at = [first % nx, Math.floor(first / nx) % ny, Math.floor(first / (nx * ny))];
      fail(path, 'NON_FINITE', `${sanitised} voxel(s) are NaN or Inf (first at voxel (${at.join(', ')}))`, 'fix the file, or pass --non-finite zero (train, segment, ablate; library: nonFinite: "zero") to read them as 0');
    }
  }
  const { shape, spacing, affine, xformCode, datatype, slope, inter } = header;
  return { shape, spacing, affine, xformCode, datatype, data: arr, slope, inter, sanitised };
}

async function streamNifti(path: string, options: ReadOptions, wantData: boolean): Promise<{ header: ParsedHeader; data?: ArrayBuffer }> {
  const maxVoxels = options.maxVoxels ?? DEFAULT_MAX_VOXELS;
  let size: number;
  const sig = Buffer.alloc(2);
  try {
    const st = await stat(path);
    if (st.isDirectory()) fail(path, 'FILE_FORMAT', 'is a folder, not a NIfTI file');
    size = st.size;
    const fh = await open(path, 'r');
    try {
      await fh.read(sig, 0, 2, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof HypersegError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new HypersegError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'IO', `${path}: cannot read file (${code ?? String(e)})`, { cause: e });
  }
  const gz = sig[0] === 0x1f && sig[1] === 0x8b;
  if (!gz && size < HEADER_BYTES) fail(path, 'FILE_TRUNCATED', `file has ${size} bytes, a NIfTI-1 header needs 348`);

  const source = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = gz ? source.pipe(createGunzip({ chunkSize: 1 << 20 })) : source;
  if (gz) source.on('error', (e) => stream.destroy(e));
  const head = new Uint8Array(SINGLE_FILE_OFFSET);
  let headFill = 0;
  let header: ParsedHeader | null = null;
  let data: Uint8Array | null = null;
  let dataFill = 0;
  let pos = 0; // decompressed bytes consumed so far
  let need = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let off = 0;
      if (header === null) {
        const take = Math.min(HEADER_BYTES - headFill, chunk.length);
        head.set(chunk.subarray(0, take), headFill);
        headFill += take;
        off = take;
        pos += take;
        if (headFill < HEADER_BYTES) continue;
        header = parseHeader(path, head, maxVoxels);
        need = header.shape[0] * header.shape[1] * header.shape[2] * header.bytesPerVoxel;
        if (!gz && size < header.voxOffset + need) {
          fail(path, 'FILE_TRUNCATED', `expected ${header.voxOffset + need} bytes (header + ${need} bytes of voxel data), the file has ${size}`);
        }
        if (!wantData) break;
        // one buffer holds the voxels: above the platform's largest (Node 20: 4 GiB) it cannot be read whole
        // (the allocation failed inside the gzip loop and was reported as a decompression error)
        if (need > kMaxLength) {
          fail(path, 'TOO_LARGE', `${header.shape.join('×')} ${header.datatype} voxels need ${need} bytes in one buffer, above this platform's largest (${kMaxLength})`, 'crop or split the volume, or store it in a smaller datatype');
        }
        try {
          data = new Uint8Array(new ArrayBuffer(need));
        } catch (e) {
          fail(path, 'TOO_LARGE', `cannot allocate ${need} bytes for its ${header.shape.join('×')} ${header.datatype} voxels (${(e as Error).message})`);
        }
      }
      // Skip extension bytes up to vox_offset, then copy voxel bytes straight into `data`.
      const skip = Math.max(0, Math.min(header.voxOffset - pos, chunk.length - off));
      off += skip;
      pos += skip;
      const take = Math.min(need - dataFill, chunk.length - off);
      if (take > 0 && data !== null) {
        data.set(chunk.subarray(off, off + take), dataFill);
        dataFill += take;
        pos += take;
      }
      if (dataFill === need && pos >= header.voxOffset) break;
    }
  } catch (e) {
    if (e instanceof HypersegError) throw e;
    const msg = (e as Error).message ?? String(e);
    if (/unexpected end of file/i.test(msg)) fail(path, 'FILE_TRUNCATED', `gzip stream ends early (truncated .nii.gz) after ${pos} decompressed bytes`);
    fail(path, 'FILE_FORMAT', `cannot decompress: ${msg}`);
  } finally {
    source.destroy();
  }
  if (header === null) fail(path, 'FILE_TRUNCATED', `stream ended after ${headFill} bytes, a NIfTI-1 header needs 348`);
  if (!wantData) return { header };
  if (dataFill < need) {
    fail(path, 'FILE_TRUNCATED', `expected ${need} bytes of voxel data (${header.shape.join('×')} ${header.datatype}), read ${dataFill}`);
  }
  const bytes = data as Uint8Array;
  if (!header.littleEndian && header.bytesPerVoxel > 1) swapBytes(bytes, header.bytesPerVoxel);
  return { header, data: bytes.buffer as ArrayBuffer };
}

/**
 * How two volumes' voxel grids relate, from their affines: 'orientation' when a voxel axis points along
 * another world axis or the opposite way (a flipped or permuted volume: voxel i is not the same place),
 * 'placement' when only the origin or voxel sizes differ (beyond float32 storage), else 'same'.
 */
export function gridRelation(a: number[][], b: number[][]): 'same' | 'placement' | 'orientation' {
  for (let j = 0; j < 3; j++) {
    const axis = (m: number[][]) => {
      let best = 0;
      for (let r = 1; r < 3; r++) if (Math.abs(m[r][j]) > Math.abs(m[best][j])) best = r;
      return (best + 1) * Math.sign(m[best][j] || 1); // the world axis (1, 2, 3) with its direction
    };
    if (axis(a) !== axis(b)) return 'orientation';
  }
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) if (Math.abs(a[r][c] - b[r][c]) > 1e-4 * Math.max(1, Math.abs(a[r][c]), Math.abs(b[r][c]))) return 'placement';
  }
  return 'same';
}

/**
 * A label file's grid against its image's: one oriented differently (a flipped or permuted axis in its affine) is
 * refused, as `evaluate --pred --truth` refuses it; scored voxel by voxel, it was a silent mismatch.
 */
export function checkTruthGrid(truth: string, truthAffine: number[][], image: string, imageAffine: number[][]): void {
  if (gridRelation(imageAffine, truthAffine) === 'orientation') {
    throw new HypersegError('INVALID_INPUT', `${truth} is oriented differently from its image ${image} (their affines send the voxel axes along different world directions): the same voxel index is not the same place in both`, {
      suggestion: 'resample the label file onto the image\'s grid first (nibabel, SimpleITK)',
    });
  }
}

/** Voxel values with scl_slope/scl_inter applied, as float32 (a view, not a copy, when no scaling applies to float32 data). */
export function scaledData(vol: NiftiVolume): Float32Array {
  if (vol.data instanceof Float32Array && vol.slope === 1 && vol.inter === 0) return vol.data;
  const out = new Float32Array(vol.data.length);
  for (let i = 0; i < out.length; i++) out[i] = vol.data[i] * vol.slope + vol.inter;
  return out;
}

/**
 * Voxel values as integer labels. Throws INVALID_INPUT if a scaled value is not an integer (a
 * float image passed where a label map is expected).
 */
export function labelData(vol: NiftiVolume, what = 'label volume'): Int32Array {
  if (vol.data instanceof Int32Array && vol.slope === 1 && vol.inter === 0) return vol.data;
  const out = new Int32Array(vol.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = vol.data[i] * vol.slope + vol.inter;
    if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) {
      throw new HypersegError('INVALID_INPUT', `${what}: voxel ${i} holds ${v}, expected an integer label`, {
        suggestion: 'pass a label map (integer values), not an intensity image',
      });
    }
    out[i] = v;
  }
  return out;
}

export interface WriteVolume {
  shape: readonly [number, number, number];
  spacing?: readonly [number, number, number];
  affine?: number[][];
  /** The space's NIfTI code for qform and sform (default 1, scanner); see NiftiVolume.xformCode. */
  xformCode?: number;
  data: VoxelArray;
}

function datatypeOf(data: VoxelArray): NiftiDatatype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

/** Unit quaternion (b, c, d) and qfac of the rotation part of an affine (NIfTI nifti_mat44_to_quatern). */
function quaternOf(affine: number[][], spacing: readonly number[]): { b: number; c: number; d: number; qfac: number } {
  const col = (j: number) => [affine[0][j] / spacing[j], affine[1][j] / spacing[j], affine[2][j] / spacing[j]];
  const [r1, r2, r3] = [col(0), col(1), col(2)];
  const det = r1[0] * (r2[1] * r3[2] - r3[1] * r2[2]) - r2[0] * (r1[1] * r3[2] - r3[1] * r1[2]) + r3[0] * (r1[1] * r2[2] - r2[1] * r1[2]);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) for (let i = 0; i < 3; i++) r3[i] = -r3[i];
  // R = [r1 r2 r3] as columns; R[i][j] = column j, row i.
  const R = [[r1[0], r2[0], r3[0]], [r1[1], r2[1], r3[1]], [r1[2], r2[2], r3[2]]];
  let a = R[0][0] + R[1][1] + R[2][2] + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (R[2][1] - R[1][2])) / a;
    c = (0.25 * (R[0][2] - R[2][0])) / a;
    d = (0.25 * (R[1][0] - R[0][1])) / a;
  } else {
    const xd = 1 + R[0][0] - (R[1][1] + R[2][2]);
    const yd = 1 + R[1][1] - (R[0][0] + R[2][2]);
    const zd = 1 + R[2][2] - (R[0][0] + R[1][1]);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd); c = (0.25 * (R[0][1] + R[1][0])) / b; d = (0.25 * (R[0][2] + R[2][0])) / b; a = (0.25 * (R[2][1] - R[1][2])) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd); b = (0.25 * (R[0][1] + R[1][0])) / c; d = (0.25 * (R[1][2] + R[2][1])) / c; a = (0.25 * (R[0][2] - R[2][0])) / c;
    } else {
      d = 0.5 * Math.sqrt(zd); b = (0.25 * (R[0][2] + R[2][0])) / d; c = (0.25 * (R[1][2] + R[2][1])) / d; a = (0.25 * (R[1][0] - R[0][1])) / d;
    }
    if (a < 0) { b = -b; c = -c; d = -d; }
  }
  return { b, c, d, qfac };
}

/** Encodes a NIfTI-1 single file (header + 4 zero extension bytes + data), little-endian. */
export function encodeNifti(vol: WriteVolume): Buffer {
  const [nx, ny, nz] = vol.shape;
  const n = nx * ny * nz;
  if (vol.data.length !== n) throw new HypersegError('SHAPE_MISMATCH', `data must hold ${nx}×${ny}×${nz} = ${n} voxels, got ${vol.data.length}`);
  const spacing = vol.spacing ?? [1, 1, 1];
  const affine = vol.affine ?? [[spacing[0], 0, 0, 0], [0, spacing[1], 0, 0], [0, 0, spacing[2], 0], [0, 0, 0, 1]];
  const datatype = datatypeOf(vol.data);
  const bytes = vol.data.BYTES_PER_ELEMENT;
  const buf = Buffer.alloc(SINGLE_FILE_OFFSET + n * bytes);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setInt32(0, HEADER_BYTES, true);
  const dims = [3, nx, ny, nz, 1, 1, 1, 1];
  dims.forEach((v, i) => dv.setInt16(40 + 2 * i, v, true));
  dv.setInt16(70, CODES[datatype], true);
  dv.setInt16(72, bytes * 8, true);
  // The qform is the affine's rotation and voxel sizes: pixdim must be the lengths of its columns. An input whose
  // pixdim disagrees with its sform (qform identity, sform diag(2)) had its pixdim written beside the sform's
  // rotation and offset: a qform 5 mm from the sform. A sheared affine has no qform (code 0; the sform is exact).
  const norms = [0, 1, 2].map((j) => Math.hypot(affine[0][j], affine[1][j], affine[2][j]));
  const unit = (j: number) => [0, 1, 2].map((r) => affine[r][j] / norms[j]);
  const dot = (u: number[], v: number[]) => u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  const orthogonal = norms.every((nrm) => nrm > 0) && Math.max(Math.abs(dot(unit(0), unit(1))), Math.abs(dot(unit(0), unit(2))), Math.abs(dot(unit(1), unit(2)))) < 1e-4;
  // without a qform, pixdim stays the spacing given
  const pixdim = orthogonal ? norms.map((nrm, j) => (Math.abs(nrm - spacing[j]) <= 1e-5 * nrm ? spacing[j] : nrm)) : [...spacing];
  const q = quaternOf(affine, pixdim);
  const pix = [q.qfac, pixdim[0], pixdim[1], pixdim[2], 1, 1, 1, 1];
  pix.forEach((v, i) => dv.setFloat32(76 + 4 * i, v, true));
  dv.setFloat32(108, SINGLE_FILE_OFFSET, true);
  dv.setFloat32(112, 1, true); // scl_slope
  dv.setFloat32(116, 0, true); // scl_inter
  buf.writeUInt8(10, 123); // xyzt_units: mm (2) + seconds (8)
  buf.write('hyperseg', 148, 'latin1'); // descrip
  // the input's space (an MNI-152 sform came back as scanner space); no qform for a sheared affine
  const code = vol.xformCode ?? 1;
  if (!(Number.isInteger(code) && code >= 0 && code <= 4)) throw new HypersegError('INVALID_ARGUMENT', `xformCode must be a NIfTI xform code 0-4, got ${code}`);
  dv.setInt16(252, orthogonal ? code : 0, true); // qform_code
  dv.setInt16(254, code, true); // sform_code
  dv.setFloat32(256, q.b, true);
  dv.setFloat32(260, q.c, true);
  dv.setFloat32(264, q.d, true);
  dv.setFloat32(268, affine[0][3], true);
  dv.setFloat32(272, affine[1][3], true);
  dv.setFloat32(276, affine[2][3], true);
  for (let r = 0; r < 3; r++) for (let cc = 0; cc < 4; cc++) dv.setFloat32(280 + 4 * (4 * r + cc), affine[r][cc], true);
  buf.write('n+1\0', 344, 'latin1');
  const src = new Uint8Array(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength);
  buf.set(src, SINGLE_FILE_OFFSET); // the platform is little-endian (x86/ARM), as the header says
  return buf;
}

/** The grid of a volume read (spacing, affine and its space's code), for a volume written on it. */
export function gridOf(h: Pick<NiftiHeader, 'spacing' | 'affine' | 'xformCode'>): Pick<WriteVolume, 'spacing' | 'affine' | 'xformCode'> {
  return { spacing: h.spacing, affine: h.affine, xformCode: h.xformCode };
}

/**
 * Writes a volume to `path` (.nii, or gzip-compressed when it ends in .gz) atomically: the bytes go
 * to a temporary file in the same folder, which is then renamed over `path`.
 */
export async function writeNifti(path: string, vol: WriteVolume): Promise<void> {
  const raw = encodeNifti(vol);
  const bytes = path.endsWith('.gz') ? gzipSync(raw, { level: 6 }) : raw;
  await writeFileAtomic(path, bytes);
}
