import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeNifti, gridRelation, labelData, readNifti, readNiftiHeader, scaledData, writeNifti } from '../../src/data/nifti.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const affine = [[-0.9, 0, 0, 90], [0, 1.1, 0.05, -126], [0, 0, 2.5, -72], [0, 0, 0, 1]];

function volume(data: Float32Array | Int16Array | Uint8Array | Int32Array | Float64Array) {
  return { shape: [4, 3, 2] as const, spacing: [0.9, 1.1, 2.5] as const, affine, data };
}

describe('NIfTI-1 round trip (.nii and .nii.gz, every supported datatype)', () => {
  const ramp = (n: number) => Array.from({ length: n }, (_, i) => i * 3 - 20);
  const datas = [
    Float32Array.from(ramp(24).map((v) => v / 7)), Float64Array.from(ramp(24).map((v) => v / 7)),
    Int16Array.from(ramp(24)), Int32Array.from(ramp(24).map((v) => v * 1e6)), Uint8Array.from(ramp(24).map((v) => v + 20)),
  ];
  for (const data of datas) {
    for (const ext of ['.nii', '.nii.gz']) {
      it(`${data.constructor.name} ${ext}`, async () => {
        const path = join(dir, `rt-${data.constructor.name}${ext}`);
        await writeNifti(path, volume(data));
        const v = await readNifti(path);
        expect(v.shape).toEqual([4, 3, 2]);
        expect(v.data.constructor).toBe(data.constructor);
        expect(Array.from(v.data)).toEqual(Array.from(data));
        v.spacing.forEach((s, i) => expect(s).toBeCloseTo([0.9, 1.1, 2.5][i], 6));
        v.affine.forEach((row, r) => row.forEach((x, c) => expect(x).toBeCloseTo(affine[r][c], 5)));
        expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]); // no temp file left behind
      });
    }
  }

  it('applies scl_slope / scl_inter, and labelData rejects non-integer labels', async () => {
    const bytes = encodeNifti(volume(Int16Array.from({ length: 24 }, (_, i) => i)));
    bytes.writeFloatLE(0.5, 112);
    bytes.writeFloatLE(10, 116);
    const path = join(dir, 'scaled.nii');
    writeFileSync(path, bytes);
    const v = await readNifti(path);
    expect(Array.from(scaledData(v)).slice(0, 3)).toEqual([10, 10.5, 11]);
    expect(() => labelData(v, 'scaled.nii')).toThrow(/voxel 1 holds 10.5, expected an integer label/);
  });

  it('reads big-endian files', async () => {
    const le = encodeNifti(volume(Int16Array.from({ length: 24 }, (_, i) => i * 100 - 999)));
    const be = Buffer.from(le);
    const swap = (off: number, w: number) => be.subarray(off, off + w).reverse();
    swap(0, 4);
    for (let i = 0; i < 8; i++) swap(40 + 2 * i, 2);
    swap(70, 2);
    swap(72, 2);
    for (let i = 0; i < 8; i++) swap(76 + 4 * i, 4);
    for (const off of [108, 112, 116, 256, 260, 264, 268, 272, 276]) swap(off, 4);
    swap(252, 2);
    swap(254, 2);
    for (let i = 0; i < 12; i++) swap(280 + 4 * i, 4);
    for (let i = 0; i < 24; i++) swap(352 + 2 * i, 2);
    const path = join(dir, 'be.nii');
    writeFileSync(path, be);
    const v = await readNifti(path);
    expect(Array.from(v.data)).toEqual(Array.from({ length: 24 }, (_, i) => i * 100 - 999));
    expect(v.spacing[2]).toBeCloseTo(2.5, 6);
  });

  it('streams large gzip files into one buffer (64³ float32)', async () => {
    const n = 64 ** 3;
    const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const path = join(dir, 'big.nii.gz');
    await writeNifti(path, { shape: [64, 64, 64], data });
    const v = await readNifti(path);
    expect(v.data.length).toBe(n);
    expect(v.data[n - 1]).toBe(data[n - 1]);
    expect((await readNiftiHeader(path)).shape).toEqual([64, 64, 64]);
  });
});

describe('gridRelation', () => {
  const A = [[0.8, 0, 0, -4], [0, 1.2, 0, 2], [0, 0, 2, 7], [0, 0, 0, 1]];
  const withCol = (j: number, col: number[]) => A.map((row, r) => row.map((v, c) => (c === j && r < 3 ? col[r] : v)));
  it('tells a flipped or permuted grid from a moved one, and float32 storage from neither', async () => {
    expect(gridRelation(A, A)).toBe('same');
    // written and read back: the sform in float32 (0.8, 1.2 are not exact) is the same grid
    const f = join(dir, 'grid.nii');
    await writeNifti(f, { shape: [3, 3, 3], affine: A, data: new Uint8Array(27) });
    const back = (await readNifti(f)).affine;
    expect(back[0][0]).not.toBe(0.8);
    expect(gridRelation(back, A)).toBe('same');
    expect(gridRelation(withCol(0, [-0.8, 0, 0]), A)).toBe('orientation'); // x reversed
    expect(gridRelation(withCol(1, [0, 0, 1.2]).map((row, r) => (r < 3 ? [row[0], row[1], r === 1 ? 2 : 0, row[3]] : row)), A)).toBe('orientation'); // y and z swapped
    expect(gridRelation(withCol(0, [0.8, 0.1, 0]), A)).toBe('placement'); // a slight tilt: same axes
    expect(gridRelation(withCol(3, [-3, 2, 7]), A)).toBe('placement'); // another origin
    expect(gridRelation(withCol(2, [0, 0, 2.5]), A)).toBe('placement'); // another slice thickness
  });
});

describe('bad NIfTI files: a clear error naming the file and the problem', () => {
  const good = encodeNifti(volume(Float32Array.from({ length: 24 }, (_, i) => i)));
  const write = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const cases: [string, () => Uint8Array, RegExp, string][] = [
    ['truncated gzip', () => gzipSync(good).subarray(0, 60), /gzip stream ends early|expected 96 bytes of voxel data/, 'FILE_TRUNCATED'],
    ['truncated .nii data', () => good.subarray(0, 400), /expected 448 bytes .* the file has 400/, 'FILE_TRUNCATED'],
    ['header shorter than 348 bytes', () => good.subarray(0, 100), /a NIfTI-1 header needs 348/, 'FILE_TRUNCATED'],
    ['wrong magic', () => { const b = Buffer.from(good); b.write('xyz', 344, 'latin1'); return b; }, /bad NIfTI-1 magic "xyz"/, 'FILE_FORMAT'],
    ['not a NIfTI file', () => Buffer.from('hello world, this is not an image'.repeat(20)), /not a NIfTI-1 file: sizeof_hdr/, 'FILE_FORMAT'],
    ['10^12 voxels', () => { const b = Buffer.from(good); b.writeInt16LE(10000, 42); b.writeInt16LE(10000, 44); b.writeInt16LE(10000, 46); return b; }, /claims 10000×10000×10000 = 1000000000000 voxels, above the limit/, 'TOO_LARGE'],
    ['dims larger than the data', () => { const b = Buffer.from(good); b.writeInt16LE(40, 42); return b; }, /expected 1312 bytes/, 'FILE_TRUNCATED'],
    ['negative dim', () => { const b = Buffer.from(good); b.writeInt16LE(-3, 44); return b; }, /dim\[2\] must be ≥ 1, got -3/, 'FILE_FORMAT'],
    ['unsupported datatype', () => { const b = Buffer.from(good); b.writeInt16LE(32, 70); b.writeInt16LE(64, 72); return b; }, /datatype code 32 is not supported/, 'UNSUPPORTED'],
    ['bitpix mismatch', () => { const b = Buffer.from(good); b.writeInt16LE(8, 72); return b; }, /bitpix 8 does not match datatype float32/, 'FILE_FORMAT'],
    ['4-D volume', () => { const b = Buffer.from(good); b.writeInt16LE(4, 40); b.writeInt16LE(3, 48); return b; }, /expected a 3-D volume, got 4-D/, 'UNSUPPORTED'],
    ['bad vox_offset', () => { const b = Buffer.from(good); b.writeFloatLE(100, 108); return b; }, /vox_offset must be an integer ≥ 352, got 100/, 'FILE_FORMAT'],
    ['zero spacing', () => { const b = Buffer.from(good); b.writeFloatLE(0, 80); return b; }, /voxel spacing .* must be finite and > 0/, 'FILE_FORMAT'],
    // 1024×1024×1023 float64 is under the voxel limit but 8 GiB, above one buffer's limit (Node 20: 4 GiB): it was "cannot decompress: Invalid typed array length"
    ['8 GiB of float64 in gzip', () => { const b = Buffer.from(good); b.writeInt16LE(1024, 42); b.writeInt16LE(1024, 44); b.writeInt16LE(1023, 46); b.writeInt16LE(64, 70); b.writeInt16LE(64, 72); return gzipSync(b); }, /1024×1024×1023 float64 voxels need 8581545984 bytes in one buffer, above this platform's largest/, 'TOO_LARGE'],
    ['NaN voxels', () => { const b = Buffer.from(good); b.writeFloatLE(NaN, 352 + 4 * 5); b.writeFloatLE(Infinity, 352 + 4 * 9); return b; }, /2 voxel\(s\) are NaN or Inf \(first at voxel \(1, 1, 0\)\)/, 'NON_FINITE'],
  ];
  for (const [name, make, message, code] of cases) {
    it(name, async () => {
      const path = write(`bad-${name.replace(/\W+/g, '-')}.nii${name.includes('gzip') ? '.gz' : ''}`, make());
      const err = await readNifti(path).then(() => null, (e: unknown) => e as { code: string; message: string });
      expect(err, 'should throw').not.toBeNull();
      expect(err?.message).toMatch(message);
      expect(err?.message).toContain(path);
      expect(err?.code).toBe(code);
    });
  }

  it('missing file', async () => {
    await expect(readNifti(join(dir, 'nope.nii'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('a folder given as a file', async () => {
    // EISDIR escaped as an uncoded error (an internal error's exit status) before
    await expect(readNifti(dir)).rejects.toMatchObject({ code: 'FILE_FORMAT', message: expect.stringMatching(/is a folder, not a NIfTI file/) });
  });

  it('NaN voxels can be sanitised to 0 on request, and the count is reported', async () => {
    const b = Buffer.from(good);
    b.writeFloatLE(NaN, 352 + 4 * 5);
    const v = await readNifti(write('nan-ok.nii', b), { nonFinite: 'zero' });
    expect(v.sanitised).toBe(1);
    expect(v.data[5]).toBe(0);
  });

  it('a raised voxel limit admits a file the default refuses, and a lowered one refuses it', async () => {
    const path = write('limit.nii', good);
    await expect(readNifti(path, { maxVoxels: 10 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect((await readNifti(path, { maxVoxels: 24 })).data.length).toBe(24);
  });

  it('gzip of a valid file decompresses to exactly what the writer produced', () => {
    expect(Buffer.compare(gunzipSync(gzipSync(good)), good)).toBe(0);
    expect(readFileSync(write('plain.nii', good)).length).toBe(352 + 96);
  });
});
