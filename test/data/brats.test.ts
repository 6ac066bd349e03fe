import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bratsSplit, listBratsCases, loadBratsCase, normaliseFlair, phantomCase, writeBratsPhantoms } from '../../src/data/brats.js';
import { readNifti, writeNifti } from '../../src/data/nifti.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const SMALL: [number, number, number] = [60, 60, 40];

describe('BraTS phantom', () => {
  it('has the BraTS labels, a tumour inside a skull-stripped brain, and FLAIR contrast in the right order', () => {
    const p = phantomCase(0, 1, SMALL);
    const counts = new Map<number, number>();
    p.seg.forEach((l) => counts.set(l, (counts.get(l) ?? 0) + 1));
    expect([...counts.keys()].sort()).toEqual([0, 1, 2, 4]);
    let outsideNonZero = 0;
    const mean = new Map<number, number[]>();
    for (let i = 0; i < p.flair.length; i++) {
      if (p.flair[i] === 0 && p.seg[i] !== 0) outsideNonZero++;
      if (p.flair[i] > 0) (mean.get(p.seg[i]) ?? mean.set(p.seg[i], []).get(p.seg[i]))?.push(p.flair[i]);
    }
    expect(outsideNonZero).toBe(0); // tumour labels only inside the brain
    const m = (l: number) => (mean.get(l) as number[]).reduce((a, b) => a + b, 0) / (mean.get(l) as number[]).length;
    expect(m(2)).toBeGreaterThan(m(0) + 200); // oedema is bright in FLAIR
    expect(m(4)).toBeGreaterThan(m(1)); // enhancing rim brighter than necrosis
  });

  it('writes the BraTS 2019 layout deterministically, and the loader reads it back', async () => {
    const out = join(dir, 'phantoms');
    const ids = await writeBratsPhantoms({ out, count: 3, seed: 2, shape: SMALL });
    expect(ids).toEqual(['BraTS19_PHANTOM_000_1', 'BraTS19_PHANTOM_001_1', 'BraTS19_PHANTOM_002_1']);
    const cases = await listBratsCases(out);
    expect(cases.map((c) => c.id)).toEqual(ids);
    const v = await loadBratsCase(cases[1]);
    const direct = phantomCase(1, 2, SMALL);
    expect(Array.from(v.flair.data)).toEqual(Array.from(direct.flair));
    expect(Array.from(v.seg ?? [])).toEqual(Array.from(direct.seg));
    expect(v.flair.affine[0][0]).toBe(-1);
    expect(v.wholeTumour?.reduce((a, b) => a + b, 0)).toBe(direct.seg.reduce((a, l) => a + (l > 0 ? 1 : 0), 0));
  });
});

describe('BraTS loader', () => {
  it('normalises FLAIR: z-score inside the brain mask (mean 0, sd 1), 0 outside', () => {
    const flair = Float32Array.from([0, 0, 100, 200, 300, 400, 0]);
    const { image, brainMask } = normaliseFlair(flair);
    expect(Array.from(brainMask)).toEqual([0, 0, 1, 1, 1, 1, 0]);
    const inside = Array.from(image).filter((_, i) => brainMask[i]);
    const mu = inside.reduce((a, b) => a + b, 0) / 4;
    const sd = Math.sqrt(inside.reduce((a, b) => a + (b - mu) ** 2, 0) / 4);
    expect(mu).toBeCloseTo(0, 6);
    expect(sd).toBeCloseTo(1, 6);
    expect(image[0]).toBe(0);
  });

  it('split: 180/39/40 for 259 cases, seeded, disjoint; proportional for other counts', () => {
    const ids = Array.from({ length: 259 }, (_, i) => `case${i}`);
    const s = bratsSplit(ids, 0);
    expect([s.train.length, s.val.length, s.test.length]).toEqual([180, 39, 40]);
    expect(new Set([...s.train, ...s.val, ...s.test]).size).toBe(259);
    expect(bratsSplit(ids, 0)).toEqual(s);
    expect(bratsSplit(ids, 1)).not.toEqual(s);
    const small = bratsSplit(ids.slice(0, 10), 0);
    expect(small.train.length + small.val.length + small.test.length).toBe(10);
    expect(small.train.length).toBe(7);
  });

  it('refuses bad labels, mismatched shapes and empty folders by name', async () => {
    const root = join(dir, 'bad');
    const mk = async (id: string, segShape: [number, number, number], segData: Uint8Array) => {
      mkdirSync(join(root, id), { recursive: true });
      await writeNifti(join(root, id, `${id}_flair.nii.gz`), { shape: [4, 4, 4], data: new Int16Array(64).fill(5) });
      await writeNifti(join(root, id, `${id}_seg.nii.gz`), { shape: segShape, data: segData });
    };
    await mk('A', [4, 4, 4], Uint8Array.from({ length: 64 }, (_, i) => (i === 9 ? 3 : 0)));
    await mk('B', [4, 4, 3], new Uint8Array(48));
    const cases = await listBratsCases(root);
    await expect(loadBratsCase(cases[0])).rejects.toThrow(/A_seg.nii.gz: voxel 9 has label 3; BraTS segmentations hold 0, 1, 2, 4/);
    await expect(loadBratsCase(cases[1])).rejects.toThrow(/B_seg.nii.gz has shape 4×4×3 but .*B_flair.nii.gz has shape 4×4×4/);
    mkdirSync(join(dir, 'empty'));
    await expect(listBratsCases(join(dir, 'empty'))).rejects.toThrow(/no BraTS cases found/);
    expect((await readNifti(cases[0].flair)).datatype).toBe('int16');
  });
});
