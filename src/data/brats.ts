/**
 * BraTS 2019: the challenge's folder layout, a loader for FLAIR + segmentation, the seeded
 * 180/39/40 split of the 259 HGG cases, and a BraTS-like phantom generator (the real data cannot
 * be downloaded here).
 *
 * Layout: DIR/<case>/<case>_flair.nii.gz and DIR/<case>/<case>_seg.nii.gz (.nii also accepted),
 * 240×240×155, segmentation labels 0 (background), 1 (necrotic / non-enhancing core),
 * 2 (peritumoural oedema), 4 (enhancing tumour); whole tumour = label > 0.
 *
 * Intensity normalisation (documented contract): BraTS volumes are skull-stripped, so the brain
 * mask is FLAIR > 0; inside it the FLAIR is z-scored (x − mean)/std with the mask's own mean and
 * standard deviation (float64 sums), and voxels outside the mask are set to 0 — the nnU-Net
 * convention. The mask is returned so that samplers and clustering can restrict to the brain.
 */

import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HypersegError } from '../errors.js';
import { Rng } from '../random.js';
import { fillAxis, axisTable, sampleTables } from '../sampling/resample.js';
import { buildDirReplacing } from './dataset.js';
import { type NiftiVolume, type ReadOptions, checkTruthGrid, labelData, readNifti, scaledData, writeNifti } from './nifti.js';
import { smoothNoise } from './noise.js';

export const BRATS_SHAPE: [number, number, number] = [240, 240, 155];
export const BRATS_LABELS = [0, 1, 2, 4] as const;
/** BraTS 2019 HGG split used by the paper's setup: 180 train, 39 validation, 40 test of 259. */
export const BRATS_SPLIT = { train: 180, val: 39, test: 40 } as const;
export const PHANTOM_VERSION = 1;

export interface BratsCase {
  id: string;
  flair: string;
  /** Absent for cases without ground truth (inference only). */
  seg?: string;
}

function firstExisting(...paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

const MODALITIES = ['flair', 'seg', 't1', 't1ce', 't2'];

/** Whether `dir/id` holds any file of a BraTS case (`id_flair`, `_seg`, `_t1`, `_t1ce`, `_t2`, .nii or .nii.gz). */
export function looksLikeBratsCase(dir: string, id: string): boolean {
  const base = join(dir, id, id);
  return MODALITIES.some((m) => firstExisting(`${base}_${m}.nii.gz`, `${base}_${m}.nii`) !== undefined);
}

/**
 * Cases under `dir` in the BraTS layout, sorted by id. Throws if there are none, and names a case folder
 * without its FLAIR image (it was skipped silently, its labels left behind; with no other case the folder
 * read as plain NIfTI files and "no NIfTI images" was all it said).
 */
export async function listBratsCases(dir: string): Promise<BratsCase[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new HypersegError('FILE_NOT_FOUND', `${dir}: cannot list the folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const cases: BratsCase[] = [];
  for (const ent of entries) {
    if (!ent.isDirectory()) continue;
    const id = ent.name;
    const base = join(dir, id, id);
    const flair = firstExisting(`${base}_flair.nii.gz`, `${base}_flair.nii`);
    if (flair === undefined) {
      if (!looksLikeBratsCase(dir, id)) continue; // another folder beside the cases
      throw new HypersegError('FILE_NOT_FOUND', `${join(dir, id)}: a BraTS case without its FLAIR image (${id}_flair.nii.gz), which is what hyperseg segments`, {
        suggestion: 'restore the file, or move the case folder out of the dataset',
      });
    }
    cases.push({ id, flair, seg: firstExisting(`${base}_seg.nii.gz`, `${base}_seg.nii`) });
  }
  if (cases.length === 0) {
    throw new HypersegError('INVALID_INPUT', `${dir}: no BraTS cases found (expected <case>/<case>_flair.nii.gz folders)`, {
      suggestion: 'generate phantoms with `hyperseg synth --kind brats-phantom --out DIR`',
    });
  }
  return cases.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Seeded split of case ids: 180/39/40 for 259 cases, the same proportions (rounded) otherwise.
 */
export function bratsSplit(ids: string[], seed: number): { train: string[]; val: string[]; test: string[] } {
  const n = ids.length;
  const total = BRATS_SPLIT.train + BRATS_SPLIT.val + BRATS_SPLIT.test;
  const nTrain = Math.round((n * BRATS_SPLIT.train) / total);
  const nVal = Math.round((n * BRATS_SPLIT.val) / total);
  const order = [...ids].sort();
  const rng = new Rng(seed, 0xb4a75);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { train: order.slice(0, nTrain).sort(), val: order.slice(nTrain, nTrain + nVal).sort(), test: order.slice(nTrain + nVal).sort() };
}

export interface BratsVolume {
  id: string;
  flair: NiftiVolume;
  /** z-scored FLAIR inside the brain mask, 0 outside (see the module header). */
  image: Float32Array;
  brainMask: Uint8Array;
  /** Segmentation labels (0/1/2/4) and the whole-tumour mask, when the case has a segmentation. */
  seg?: Int32Array;
  wholeTumour?: Uint8Array;
}

/** Brain mask (FLAIR > 0) and the z-scored image (see the module header). */
export function normaliseFlair(flair: Float32Array): { image: Float32Array; brainMask: Uint8Array } {
  const mask = new Uint8Array(flair.length);
  let sum = 0;
  let sum2 = 0;
  let count = 0;
  for (let i = 0; i < flair.length; i++) {
    const v = flair[i];
    if (v > 0) {
      mask[i] = 1;
      sum += v;
      sum2 += v * v;
      count++;
    }
  }
  const image = new Float32Array(flair.length);
  if (count === 0) return { image, brainMask: mask };
  const mean = sum / count;
  const sd = Math.sqrt(Math.max(sum2 / count - mean * mean, 0)) || 1;
  for (let i = 0; i < flair.length; i++) if (mask[i]) image[i] = (flair[i] - mean) / sd;
  return { image, brainMask: mask };
}

/** Loads one case: FLAIR (normalised, with brain mask) and, when present, the checked segmentation. */
export async function loadBratsCase(c: BratsCase, read: Pick<ReadOptions, 'maxVoxels' | 'nonFinite'> = {}): Promise<BratsVolume> {
  const flair = await readNifti(c.flair, read);
  const { image, brainMask } = normaliseFlair(scaledData(flair));
  const out: BratsVolume = { id: c.id, flair, image, brainMask };
  if (c.seg !== undefined) {
    const segVol = await readNifti(c.seg, { maxVoxels: read.maxVoxels });
    if (segVol.shape.join() !== flair.shape.join()) {
      throw new HypersegError('SHAPE_MISMATCH', `${c.seg} has shape ${segVol.shape.join('×')} but ${c.flair} has shape ${flair.shape.join('×')}`);
    }
    checkTruthGrid(c.seg, segVol.affine, c.flair, flair.affine);
    const seg = labelData(segVol, c.seg);
    const wt = new Uint8Array(seg.length);
    for (let i = 0; i < seg.length; i++) {
      const l = seg[i];
      if (l !== 0 && l !== 1 && l !== 2 && l !== 4) {
        throw new HypersegError('INVALID_INPUT', `${c.seg}: voxel ${i} has label ${l}; BraTS segmentations hold 0, 1, 2, 4`);
      }
      wt[i] = l > 0 ? 1 : 0;
    }
    out.seg = seg;
    out.wholeTumour = wt;
  }
  return out;
}

// -------------------------------------------------------------------------------------------------
// Phantom generator
// -------------------------------------------------------------------------------------------------

/** A smooth field at full resolution: noise generated on a grid `factor` times coarser, upsampled trilinearly. */
function coarseField(shape: readonly [number, number, number], factor: number, radius: number, rng: Rng): Float32Array {
  const small = shape.map((s) => Math.ceil(s / factor) + 1) as [number, number, number];
  const noise = smoothNoise(small, radius, rng);
  const t = [axisTable(shape[0]), axisTable(shape[1]), axisTable(shape[2])];
  for (let a = 0; a < 3; a++) fillAxis(t[a], 0, 1 / factor, shape[a], small[a]);
  const out = new Float32Array(shape[0] * shape[1] * shape[2]);
  sampleTables({ data: noise, shape: small }, t[0], t[1], t[2], shape[0], shape[1], shape[2], out, 0);
  return out;
}

export interface PhantomCase {
  shape: [number, number, number];
  flair: Int16Array;
  seg: Uint8Array;
}

/**
 * One BraTS-like phantom (240×240×155, 1 mm): a skull-stripped brain (zero outside, as BraTS
 * releases it) with folded cortex (grey matter), white matter, deep grey nuclei and CSF-filled
 * ventricles, each with its own FLAIR intensity and texture, a smooth bias field and noise; and a
 * tumour in one hemisphere: irregular oedema (label 2, bright in FLAIR), an enhancing rim (4) and a
 * necrotic core (1).
 */
export function phantomCase(index: number, seed: number, shape: [number, number, number] = BRATS_SHAPE): PhantomCase {
  const rng = new Rng(seed, index);
  const [nx, ny, nz] = shape;
  const n = nx * ny * nz;
  const sx = nx / 240;
  const sz = nz / 155;
  const c = [nx / 2 + rng.uniform(-3, 3) * sx, ny / 2 + rng.uniform(-3, 3) * sx, nz * 0.47 + rng.uniform(-2, 2) * sz];
  const R = [rng.uniform(64, 70) * sx, rng.uniform(80, 88) * sx, rng.uniform(54, 60) * sz];
  const meanR = (R[0] + R[1] + R[2]) / 3;
  const side = rng.float() < 0.5 ? -1 : 1;
  const tc = [c[0] + side * rng.uniform(22, 36) * sx, c[1] + rng.uniform(-30, 30) * sx, c[2] + rng.uniform(-12, 12) * sz];
  const rCore = rng.uniform(10, 16) * sx;
  const rOed = rCore + rng.uniform(9, 16) * sx;
  const rim = rng.uniform(2.5, 4) * sx;

  const fold = coarseField(shape, 4, 2, rng); // cortical folding and sulci
  const tissue = coarseField(shape, 2, 1, rng); // fine tissue texture
  const cloud = coarseField(shape, 6, 1, rng); // oedema extent and texture
  const bias = coarseField(shape, 16, 1, rng); // smooth bias field
  const flair = new Int16Array(n);
  const seg = new Uint8Array(n);
  const cortex = (5 * sx) / meanR;
  const vent = [
    { c: [c[0] - 9 * sx, c[1] + 4 * sx, c[2] + 8 * sz], r: [5 * sx, 24 * sx, 9 * sz] },
    { c: [c[0] + 9 * sx, c[1] + 4 * sx, c[2] + 8 * sz], r: [5 * sx, 24 * sx, 9 * sz] },
  ];
  const deep = [
    { c: [c[0] - 24 * sx, c[1] - 4 * sx, c[2] - 2 * sz], r: [8 * sx, 13 * sx, 9 * sz] },
    { c: [c[0] + 24 * sx, c[1] - 4 * sx, c[2] - 2 * sz], r: [8 * sx, 13 * sx, 9 * sz] },
  ];
  const inE = (e: { c: number[]; r: number[] }, x: number, y: number, z: number) =>
    ((x - e.c[0]) / e.r[0]) ** 2 + ((y - e.c[1]) / e.r[1]) ** 2 + ((z - e.c[2]) / e.r[2]) ** 2 < 1;
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const rb = Math.sqrt(((x - c[0]) / R[0]) ** 2 + ((y - c[1]) / R[1]) ** 2 + ((z - c[2]) / R[2]) ** 2) + 0.03 * fold[i];
        if (rb >= 1) continue; // outside the brain: 0, as in skull-stripped BraTS
        let value: number;
        // tissue
        if (rb > 1 - cortex) value = fold[i] > 0.9 && rb > 1 - cortex / 2 ? 110 + 25 * tissue[i] : 440 + 35 * tissue[i];
        else value = 350 + 18 * tissue[i];
        if (inE(deep[0], x, y, z) || inE(deep[1], x, y, z)) value = 415 + 25 * tissue[i];
        if (inE(vent[0], x, y, z) || inE(vent[1], x, y, z)) value = 95 + 12 * tissue[i];
        // tumour: distances to its centre, perturbed for irregular borders
        const dt = Math.sqrt((x - tc[0]) ** 2 + (y - tc[1]) ** 2 + ((z - tc[2]) * (sx / sz)) ** 2);
        if (dt < rOed * (1 + 0.22 * cloud[i])) {
          let label = 2;
          value = 720 + 70 * cloud[i];
          const dc = dt - 1.5 * sx * fold[i];
          if (dc < rCore) {
            label = dc > rCore - rim ? 4 : 1;
            value = label === 4 ? 560 + 40 * tissue[i] : 300 + 55 * tissue[i];
          }
          seg[i] = label;
        }
        const noisy = value * (1 + 0.07 * bias[i]) + 14 * rng.normal();
        flair[i] = Math.max(1, Math.min(32767, Math.round(noisy)));
      }
    }
  }
  return { shape, flair, seg };
}

const BRATS_AFFINE = [[-1, 0, 0, 0], [0, -1, 0, 239], [0, 0, 1, 0], [0, 0, 0, 1]];

export interface PhantomOptions {
  out: string;
  count?: number;
  seed?: number;
  force?: boolean;
  /** Volume shape (default 240×240×155); smaller shapes make quick tests. */
  shape?: [number, number, number];
  onProgress?: (done: number, total: number) => void;
}

/** Writes `count` phantom cases in the BraTS 2019 layout under `out` (built atomically). */
export async function writeBratsPhantoms(options: PhantomOptions): Promise<string[]> {
  const count = options.count ?? 4;
  const seed = options.seed ?? 0;
  const shape = options.shape ?? BRATS_SHAPE;
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new HypersegError('INVALID_ARGUMENT', `count must be an integer in [1, 10000], got ${count}`);
  if (shape.some((s) => !Number.isInteger(s) || s < 24 || s > 1024)) throw new HypersegError('INVALID_ARGUMENT', `phantom shape must be integers in [24, 1024], got ${shape.join('×')}`);
  const ids: string[] = [];
  await buildDirReplacing(options.out, options.force ?? false, async (dir) => {
    for (let i = 0; i < count; i++) {
      const id = `BraTS19_PHANTOM_${String(i).padStart(3, '0')}_1`;
      const p = phantomCase(i, seed, shape);
      await mkdir(join(dir, id));
      const affine = BRATS_AFFINE.map((r) => [...r]);
      affine[1][3] = shape[1] - 1;
      await writeNifti(join(dir, id, `${id}_flair.nii.gz`), { shape: p.shape, data: p.flair, affine });
      await writeNifti(join(dir, id, `${id}_seg.nii.gz`), { shape: p.shape, data: p.seg, affine });
      ids.push(id);
      options.onProgress?.(i + 1, count);
    }
    const info = { generator: 'hyperseg synth --kind brats-phantom', version: PHANTOM_VERSION, seed, count, shape, cases: ids };
    await writeFile(join(dir, 'phantom.json'), `${JSON.stringify(info, null, 1)}\n`);
  });
  return ids;
}
