/**
 * Datasets on disk: the synthetic hierarchical dataset (manifest.json + NIfTI images and per-level
 * label volumes + preview.png), and loading image/label pairs with their consistency checked.
 *
 * Layout written by `writeSynthDataset`:
 *   DIR/manifest.json                    generator, version, seed, class tree, split, files
 *   DIR/images/synth_000.nii.gz          float32 image
 *   DIR/labels/synth_000_level{1,2,3}.nii.gz   uint8 labels (2, 4, 8 classes, nested)
 *   DIR/preview.png                      image and label slices of the first volumes
 * The dataset is generated in a sibling temporary folder and renamed into place at the end, so an
 * interrupted run leaves no partial dataset at DIR.
 */

import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { HypersegError } from '../errors.js';
import { Canvas, axialSlice } from '../report/canvas.js';
import { assertFolderTarget, buildDirAtomically, writeFileAtomic } from './atomic.js';
import { isObject, readJsonFile } from './json.js';
import { type NiftiVolume, labelData, readNifti, writeNifti } from './nifti.js';
import { LEVEL_NAMES, PARENT_2, PARENT_3, SYNTH_VERSION, synthSplit, synthVolume } from './synth.js';

export interface SynthOptions {
  out: string;
  count?: number;
  size?: number;
  irregular?: boolean;
  seed?: number;
  /** Replace an existing non-empty DIR. */
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface ManifestVolume {
  id: string;
  split: 'train' | 'val' | 'test';
  image: string;
  /** Label files by level ("1", "2", "3"). */
  labels: Record<string, string>;
}

export interface SynthManifest {
  generator: 'hyperseg synth';
  kind: 'hierarchical';
  version: number;
  seed: number;
  count: number;
  size: number;
  irregular: boolean;
  levels: { level: number; classes: readonly string[] }[];
  /** parents["3"][c] = level-2 parent of level-3 class c; parents["2"][c] = level-1 parent. */
  parents: Record<string, readonly number[]>;
  split: { train: string[]; val: string[]; test: string[] };
  volumes: ManifestVolume[];
}

/** Creates `out` through a temporary sibling (see buildDirAtomically); a non-empty `out` only with `force`. */
export async function buildDirReplacing(out: string, force: boolean, build: (dir: string) => Promise<void>): Promise<void> {
  const target = resolve(out);
  assertFolderTarget(target);
  if (existsSync(target) && (await readdir(target)).length > 0 && !force) {
    throw new HypersegError('INVALID_ARGUMENT', `${out} exists and is not empty`, { suggestion: 'choose another --out, or pass --force to replace it' });
  }
  await buildDirAtomically(target, build);
}

const caseId = (i: number, count: number): string => `synth_${String(i).padStart(Math.max(3, String(count - 1).length), '0')}`;

/** Generates the synthetic hierarchical dataset (see synth.ts) into `options.out`; returns its manifest. */
export async function writeSynthDataset(options: SynthOptions): Promise<SynthManifest> {
  const count = options.count ?? 120;
  const size = options.size ?? 50;
  const seed = options.seed ?? 0;
  const irregular = options.irregular ?? false;
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new HypersegError('INVALID_ARGUMENT', `count must be an integer in [1, 100000], got ${count}`);
  if (!Number.isInteger(size) || size < 16 || size > 512) throw new HypersegError('INVALID_ARGUMENT', `size must be an integer in [16, 512], got ${size}`);
  const split = synthSplit(count, seed);
  const splitOf = new Map<number, ManifestVolume['split']>();
  for (const k of ['train', 'val', 'test'] as const) for (const i of split[k]) splitOf.set(i, k);
  const volumes: ManifestVolume[] = [];
  const preview: ReturnType<typeof synthVolume>[] = [];
  let manifest: SynthManifest | null = null;
  await buildDirReplacing(options.out, options.force ?? false, async (dir) => {
    await mkdir(join(dir, 'images'));
    await mkdir(join(dir, 'labels'));
    for (let i = 0; i < count; i++) {
      const v = synthVolume(i, seed, size, irregular);
      const id = caseId(i, count);
      const entry: ManifestVolume = { id, split: splitOf.get(i) as ManifestVolume['split'], image: `images/${id}.nii.gz`, labels: {} };
      await writeNifti(join(dir, entry.image), { shape: v.shape, data: v.image });
      for (let l = 0; l < 3; l++) {
        entry.labels[String(l + 1)] = `labels/${id}_level${l + 1}.nii.gz`;
        await writeNifti(join(dir, entry.labels[String(l + 1)]), { shape: v.shape, data: v.labels[l] });
      }
      volumes.push(entry);
      if (preview.length < 4) preview.push(v);
      options.onProgress?.(i + 1, count);
    }
    await renderSynthPreview(preview).save(join(dir, 'preview.png'));
    manifest = makeManifest(seed, count, size, irregular, split, volumes);
    await writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  });
  return manifest as unknown as SynthManifest;
}

function makeManifest(seed: number, count: number, size: number, irregular: boolean, split: ReturnType<typeof synthSplit>, volumes: ManifestVolume[]): SynthManifest {
  const ids = (a: number[]) => a.map((i) => caseId(i, count));
  return {
    generator: 'hyperseg synth', kind: 'hierarchical', version: SYNTH_VERSION, seed, count, size, irregular,
    levels: LEVEL_NAMES.map((classes, l) => ({ level: l + 1, classes })),
    parents: { '3': PARENT_3, '2': PARENT_2 },
    split: { train: ids(split.train), val: ids(split.val), test: ids(split.test) },
    volumes,
  };
}

/** The z-slice with the most organelle voxels (level-3 classes ≥ 4) in its middle half. */
function showcaseSlice(v: ReturnType<typeof synthVolume>): number {
  const [nx, ny, nz] = v.shape;
  let best = Math.floor(nz / 2);
  let bestCount = -1;
  for (let z = Math.floor(nz / 4); z < Math.ceil((3 * nz) / 4); z++) {
    let c = 0;
    for (let i = z * nx * ny; i < (z + 1) * nx * ny; i++) if (v.labels[2][i] >= 4) c++;
    if (c > bestCount) {
      bestCount = c;
      best = z;
    }
  }
  return best;
}

/** One row per volume: the image slice, then the slice with level-1, -2 and -3 labels overlaid. */
export function renderSynthPreview(vols: ReturnType<typeof synthVolume>[]): Canvas {
  const tile = 150;
  const pad = 6;
  const cv = new Canvas(4 * (tile + pad) + pad, vols.length * (tile + pad) + pad);
  vols.forEach((v, r) => {
    const [nx, ny] = v.shape;
    const scale = Math.max(1, Math.floor(tile / Math.max(nx, ny)));
    const z = showcaseSlice(v);
    const img = axialSlice(v.image, v.shape, z);
    const y0 = pad + r * (tile + pad);
    for (let c = 0; c < 4; c++) {
      const x0 = pad + c * (tile + pad);
      cv.grey(img, nx, ny, x0, y0, scale, 0, 1);
      if (c > 0) cv.labels(axialSlice(v.labels[c - 1], v.shape, z), nx, ny, x0, y0, scale, 0.5);
    }
  });
  return cv;
}

/** Reads and checks DIR/manifest.json. */
export async function readSynthManifest(dir: string): Promise<SynthManifest> {
  const path = join(dir, 'manifest.json');
  const m = await readJsonFile<unknown>(path, 'the dataset manifest', 'generate a dataset with `hyperseg synth --out DIR`');
  if (!isObject(m) || m.generator !== 'hyperseg synth' || !Array.isArray(m.volumes)) throw new HypersegError('FILE_FORMAT', `${path}: not a hyperseg synth manifest`);
  if (!Number.isSafeInteger(m.version) || (m.version as number) < 1) throw new HypersegError('FILE_FORMAT', `${path}: version must be an integer ≥ 1, got ${JSON.stringify(m.version)}`);
  if ((m.version as number) > SYNTH_VERSION) {
    throw new HypersegError('UNSUPPORTED', `${path}: dataset version ${m.version} is newer than this hyperseg's generator version ${SYNTH_VERSION}`);
  }
  // each entry as written (a null or an edited entry read as a TypeError naming no file)
  const str = (v: unknown) => typeof v === 'string' && v.length > 0;
  m.volumes.forEach((v: unknown, i) => {
    if (!isObject(v) || !str(v.id) || !str(v.image) || !['train', 'val', 'test'].includes(v.split as string) || !isObject(v.labels) || !Object.values(v.labels).every(str)) {
      throw new HypersegError('FILE_FORMAT', `${path}: volumes[${i}] must be {id, split: train|val|test, image, labels: {level: file}}, got ${JSON.stringify(v)?.slice(0, 200)}`);
    }
  });
  return m as unknown as SynthManifest;
}

/** An image with its label volume, shapes checked. */
export interface LabelledVolume {
  id: string;
  image: NiftiVolume;
  labels: Int32Array;
}

/** Loads an image and a label file and checks that their shapes agree. */
export async function loadPair(imagePath: string, labelPath: string, id = basename(imagePath)): Promise<LabelledVolume> {
  const [image, label] = await Promise.all([readNifti(imagePath), readNifti(labelPath)]);
  if (image.shape.join() !== label.shape.join()) {
    throw new HypersegError('SHAPE_MISMATCH', `image ${imagePath} has shape ${image.shape.join('×')} but labels ${labelPath} have shape ${label.shape.join('×')}`);
  }
  return { id, image, labels: labelData(label, labelPath) };
}

/** Loads a synthetic volume with its labels at `level` (1, 2 or 3). */
export async function loadSynthVolume(dir: string, entry: ManifestVolume, level: 1 | 2 | 3): Promise<LabelledVolume> {
  const lp = entry.labels[String(level)];
  if (lp === undefined) throw new HypersegError('INVALID_ARGUMENT', `volume ${entry.id} has no level-${level} labels`);
  return loadPair(join(dir, entry.image), join(dir, lp), entry.id);
}

