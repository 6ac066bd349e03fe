import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPair, loadSynthVolume, readSynthManifest, writeSynthDataset } from '../../src/data/dataset.js';
import { readNifti, scaledData, writeNifti } from '../../src/data/nifti.js';
import { LEVEL_NAMES, PARENT_2, PARENT_3, synthSplit, synthVolume } from '../../src/data/synth.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

function hashDir(root: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const f of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, f.name);
      if (f.isDirectory()) walk(p);
      else h.update(f.name).update(readFileSync(p));
    }
  };
  walk(root);
  return h.digest('hex');
}

describe('synthetic hierarchical volumes', () => {
  const vols = Array.from({ length: 6 }, (_, i) => synthVolume(i, 3, 50, i % 2 === 1));

  it('labels are strictly nested: level 3 → level 2 → level 1 through the class tree', () => {
    for (const v of vols) {
      for (let i = 0; i < v.image.length; i++) {
        expect(v.labels[1][i]).toBe(PARENT_3[v.labels[2][i]]);
        expect(v.labels[0][i]).toBe(PARENT_2[v.labels[1][i]]);
      }
    }
    expect(LEVEL_NAMES.map((l) => l.length)).toEqual([2, 4, 8]);
  });

  it('every level-2 class and most level-3 classes appear; the cell is a sizeable part of the volume', () => {
    const seen3 = new Set<number>();
    for (const v of vols) {
      const seen2 = new Set(v.labels[1]);
      expect(seen2.size).toBe(4);
      v.labels[2].forEach((l) => seen3.add(l));
      const cell = v.labels[0].reduce((a, b) => a + b, 0) / v.image.length;
      expect(cell).toBeGreaterThan(0.1);
      expect(cell).toBeLessThan(0.4);
    }
    expect(seen3.size).toBe(8);
  });

  it('intensity ranges of the cell-interior classes overlap (texture is needed), and class means differ', () => {
    const stats = new Map<number, number[]>();
    for (const v of vols) v.labels[2].forEach((l, i) => (stats.get(l) ?? stats.set(l, []).get(l))?.push(v.image[i]));
    const q = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(p * (a.length - 1))];
    const range = (l: number) => [q(stats.get(l) as number[], 0.1), q(stats.get(l) as number[], 0.9)];
    // cytoplasm (2), vesicle lumen (4), granule matrix (6): 10–90 % ranges pairwise overlap
    for (const [a, b] of [[2, 4], [2, 6], [4, 6]]) {
      const [ra, rb] = [range(a), range(b)];
      expect(Math.min(ra[1], rb[1])).toBeGreaterThan(Math.max(ra[0], rb[0]));
    }
    const mean = (l: number) => (stats.get(l) as number[]).reduce((x, y) => x + y, 0) / (stats.get(l) as number[]).length;
    expect(mean(0)).toBeLessThan(mean(2) - 0.15); // background darker than the cell
  });

  it('the irregular variant perturbs boundaries of the same objects: labels move, surfaces grow', () => {
    // Same seed: the same cell and organelles are drawn, then perturbed.
    const n = 50;
    const surface = (l: Uint8Array) => {
      let s = 0;
      for (let j = 0; j < l.length; j++) {
        if (j % n && l[j] !== l[j - 1]) s++;
        if (Math.floor(j / n) % n && l[j] !== l[j - n]) s++;
        if (j >= n * n && l[j] !== l[j - n * n]) s++;
      }
      return s;
    };
    let ratioReg = 0;
    let ratioIrr = 0;
    for (let i = 0; i < 4; i++) {
      const a = synthVolume(i, 9, n, false).labels[0];
      const b = synthVolume(i, 9, n, true).labels[0];
      let diff = 0;
      let cell = 0;
      for (let j = 0; j < a.length; j++) {
        if (a[j] !== b[j]) diff++;
        cell += a[j];
      }
      expect(diff / cell).toBeGreaterThan(0.1);
      ratioReg += surface(a) / cell ** (2 / 3);
      ratioIrr += surface(b) / cell ** (2 / 3);
    }
    expect(ratioIrr).toBeGreaterThan(1.04 * ratioReg); // surface per volume^(2/3): a rougher shape
  });

  it('split: 80/20/20 for 120, disjoint and covering, proportional otherwise', () => {
    const s = synthSplit(120, 0);
    expect([s.train.length, s.val.length, s.test.length]).toEqual([80, 20, 20]);
    expect(new Set([...s.train, ...s.val, ...s.test]).size).toBe(120);
    const t = synthSplit(12, 1);
    expect([t.train.length, t.val.length, t.test.length]).toEqual([8, 2, 2]);
  });
});

describe('writeSynthDataset', () => {
  it('writes NIfTI images, per-level labels, a manifest and a preview; the same seed gives the same bytes', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const m = await writeSynthDataset({ out: a, count: 6, size: 24, seed: 4 });
    await writeSynthDataset({ out: b, count: 6, size: 24, seed: 4 });
    expect(hashDir(a)).toBe(hashDir(b));
    const c = join(dir, 'c');
    await writeSynthDataset({ out: c, count: 6, size: 24, seed: 5 });
    expect(hashDir(c)).not.toBe(hashDir(a));
    expect(readFileSync(join(a, 'preview.png')).subarray(1, 4).toString()).toBe('PNG');
    const manifest = await readSynthManifest(a);
    expect(manifest).toMatchObject({ count: 6, size: 24, seed: 4, kind: 'hierarchical' });
    expect(manifest.split.train.length + manifest.split.val.length + manifest.split.test.length).toBe(6);
    expect(m.volumes).toHaveLength(6);
    const v = await loadSynthVolume(a, manifest.volumes[2], 3);
    expect(v.image.shape).toEqual([24, 24, 24]);
    expect(v.image.datatype).toBe('float32');
    const direct = synthVolume(2, 4, 24, false);
    expect(Array.from(scaledData(v.image))).toEqual(Array.from(direct.image));
    expect(Array.from(v.labels)).toEqual(Array.from(direct.labels[2]));
    // no temporary folders are left next to the dataset
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('refuses a non-empty output folder unless forced, and replaces it atomically with force', async () => {
    const d = join(dir, 'existing');
    mkdirSync(d);
    writeFileSync(join(d, 'keep.txt'), 'user data');
    await expect(writeSynthDataset({ out: d, count: 2, size: 16 })).rejects.toThrow(/exists and is not empty/);
    expect(readFileSync(join(d, 'keep.txt'), 'utf8')).toBe('user data');
    await writeSynthDataset({ out: d, count: 2, size: 16, force: true });
    expect(existsSync(join(d, 'keep.txt'))).toBe(false);
    expect(existsSync(join(d, 'manifest.json'))).toBe(true);
  });

  it('image/label pairs with different shapes are refused, naming both files', async () => {
    const img = join(dir, 'img.nii');
    const lab = join(dir, 'lab.nii');
    await writeNifti(img, { shape: [4, 4, 4], data: new Float32Array(64) });
    await writeNifti(lab, { shape: [4, 4, 5], data: new Uint8Array(80) });
    await expect(loadPair(img, lab)).rejects.toThrow(/image .*img.nii has shape 4×4×4 but labels .*lab.nii have shape 4×4×5/);
  });

  it('manifests: missing, malformed and newer-version files are refused by name', async () => {
    await expect(readSynthManifest(join(dir, 'nowhere'))).rejects.toThrow(/cannot read the dataset manifest/);
    const bad = join(dir, 'badmanifest');
    mkdirSync(bad);
    writeFileSync(join(bad, 'manifest.json'), '{"generator": "other"}');
    await expect(readSynthManifest(bad)).rejects.toThrow(/not a hyperseg synth manifest/);
    writeFileSync(join(bad, 'manifest.json'), '{"generator": "hyperseg synth", "volumes": [], "version": 99}');
    await expect(readSynthManifest(bad)).rejects.toThrow(/version 99 is newer/);
    writeFileSync(join(bad, 'manifest.json'), '{oops');
    await expect(readSynthManifest(bad)).rejects.toThrow(/not valid JSON/);
  });

  it('a label volume read back is the uint8 it was written as', async () => {
    const a = join(dir, 'a');
    const l = await readNifti(join(a, 'labels', 'synth_000_level3.nii.gz'));
    expect(l.datatype).toBe('uint8');
  });
});
