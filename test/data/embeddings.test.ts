import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv, readEmbeddings } from '../../src/data/embeddings.js';
import { encodeNpy, parseNpy, writeNpy } from '../../src/data/npy.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

describe('.npy', () => {
  it('round-trips float32, float64 and int32 with 64-byte aligned headers', () => {
    for (const data of [Float32Array.from([1.5, -2, 3, 4, 5, 6]), Float64Array.from([1e-300, 2, 3, 4, 5, 6]), Int32Array.from([1, -2, 3, 4, 5, 6])]) {
      const bytes = encodeNpy(data, [3, 2]);
      expect((bytes.indexOf(10) + 1) % 64).toBe(0); // header ends on a 64-byte boundary
      const a = parseNpy(bytes);
      expect(a.shape).toEqual([3, 2]);
      expect(Array.from(a.data as ArrayLike<number>)).toEqual(Array.from(data));
    }
  });
  it('reads a file written by numpy (header bytes as numpy 1.x writes them)', () => {
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
    const padded = header + ' '.repeat(128 - 10 - header.length - 1) + '\n';
    const body = Buffer.from(Float64Array.from([0.1, 0.2, 0.3, 0.4]).buffer);
    const bytes = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, padded.length, 0]), Buffer.from(padded, 'latin1'), body]);
    const a = parseNpy(bytes);
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data as Float64Array)).toEqual([0.1, 0.2, 0.3, 0.4]);
  });
  it('rejects bad files with named errors', () => {
    const ok = encodeNpy(Float32Array.from([1, 2, 3, 4]), [2, 2]);
    expect(() => parseNpy(Buffer.from('not an npy file at all'), 'x.npy')).toThrow(/x.npy: not a .npy file/);
    expect(() => parseNpy(ok.subarray(0, ok.length - 3), 'x.npy')).toThrow(/expected 16 bytes of data .* found 13/);
    const big = Buffer.from(ok);
    big.write("'>f4'", big.indexOf("'<f4'"), 'latin1');
    expect(() => parseNpy(big, 'x.npy')).toThrow(/dtype '>f4' is not supported/);
    const fortran = Buffer.from(ok.toString('latin1').replace("'fortran_order': False", "'fortran_order': True "), 'latin1');
    expect(() => parseNpy(fortran, 'x.npy')).toThrow(/Fortran-ordered/);
  });
  it('readEmbeddings requires a 2-D float array', async () => {
    await writeNpy(join(dir, 'v.npy'), Float32Array.from([1, 2, 3]), [3]);
    await expect(readEmbeddings(join(dir, 'v.npy'))).rejects.toThrow(/2-D array N × d, got shape \(3\)/);
    await writeNpy(join(dir, 'i.npy'), Int32Array.from([1, 2]), [1, 2]);
    await expect(readEmbeddings(join(dir, 'i.npy'))).rejects.toThrow(/must be float32 or float64, got int32/);
    await writeNpy(join(dir, 'ok.npy'), Float32Array.from([0.1, 0.2, 0.3, 0.4]), [2, 2]);
    expect(await readEmbeddings(join(dir, 'ok.npy'))).toMatchObject({ n: 2, d: 2 });
  });
});

describe('.csv', () => {
  it('parses commas, whitespace, a header line, comments and nan', () => {
    const e = parseCsv('x,y\n# comment\n0.1, 0.2\n0.3 0.4\n\nnan,1\n');
    expect(e.n).toBe(3);
    expect(e.d).toBe(2);
    expect(Array.from(e.data).slice(0, 4)).toEqual([0.1, 0.2, 0.3, 0.4]);
    expect(Number.isNaN(e.data[4])).toBe(true);
  });
  it('rejects ragged rows and non-numbers', () => {
    expect(() => parseCsv('1,2\n3\n', 'e.csv')).toThrow(/e.csv: row 2 has 1 values, the first row has 2/);
    expect(() => parseCsv('1,2\n3,abc\n', 'e.csv')).toThrow(/line 2: 'abc' is not a number/);
  });
  it('unknown extensions are refused', async () => {
    writeFileSync(join(dir, 'e.json'), '[]');
    await expect(readEmbeddings(join(dir, 'e.json'))).rejects.toThrow(/unknown embeddings format '.json'/);
  });
});
