/**
 * Where the pipeline's volumes come from, in one shape for train, segment and evaluate:
 *  - a synthetic dataset folder (manifest.json from `hyperseg synth`): images as generated, truth at
 *    three levels (k = 2, 4, 8), the manifest's split;
 *  - a BraTS-layout folder (<case>/<case>_flair.nii.gz, optional _seg): FLAIR z-scored inside the brain
 *    mask, whole-tumour truth scored with k = 3 against {outside brain, brain, tumour}, the seeded
 *    180/39/40 split;
 *  - plain NIfTI files (or a folder of them): intensities mapped to [0, 1] by their 0.5th and 99.5th
 *    percentiles (clipped), every volume in every split; a label file beside an image (NAME_seg,
 *    NAME_label, NAME_labels, NAME_truth or NAME_gt .nii[.gz] for NAME.nii[.gz]) is its truth, not an
 *    image: scored with k = its number of distinct values (average-class Dice after Hungarian
 *    matching), and for two values also the foreground's (the larger value's) Dice, HD95 and ASSD.
 * Volumes load lazily, one at a time, so segmenting a folder of BraTS-size volumes stays bounded.
 */

import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { HypersegError } from '../errors.js';
import { bratsSplit, listBratsCases, loadBratsCase, looksLikeBratsCase, normaliseFlair } from '../data/brats.js';
import { readSynthManifest } from '../data/dataset.js';
import { DEFAULT_MAX_VOXELS, type NiftiHeader, type ReadOptions, checkTruthGrid, labelData, readNifti, scaledData } from '../data/nifti.js';
import type { Shape3 } from '../types.js';

export type DataKind = 'synth' | 'brats' | 'nifti';
export type Split = 'train' | 'val' | 'test' | 'all';

/** A ground-truth target: a label volume and the number of clusters it is scored with. */
export interface Target {
  /** 'level1'..'level3' (synthetic), 'whole-tumour' (BraTS) or 'truth' (a plain NIfTI file's label file). */
  name: string;
  k: number;
  labels: Int32Array;
  /** Classes scored (Hungarian matching over all of them). */
  classes: number[];
  /** The class whose Dice and surface distances are reported alone (BraTS: the tumour), if any. */
  focus?: number;
}

export interface LoadedCase {
  id: string;
  /** The model's input: normalised intensities, x fastest. */
  image: Float32Array;
  shape: Shape3;
  /** The source image's header (affine and spacing go onto every output volume). */
  header: Omit<NiftiHeader, 'datatype'>;
  targets: Target[];
  /** Why a label file beside the image gives no target (a single label value: a negative case, nothing to score). */
  unscored?: string;
}

export interface CaseRef {
  id: string;
  split: Exclude<Split, 'all'> | 'all';
  /** Files the case is read from (for reports): the image, then its truth if any. */
  files: string[];
  /** Whether the case has ground truth (its targets are not empty). */
  truth: boolean;
  load(): Promise<LoadedCase>;
}

export interface DataSource {
  kind: DataKind;
  /** Inputs as given, resolved. */
  inputs: string[];
  cases: CaseRef[];
  /** Sampler settings suited to the data (anchor sizes and their distribution). */
  sampler: { rMin: number; rMax: number; lMax: number; scale: 'uniform' | 'log' };
}

const headerOf = (v: NiftiHeader): LoadedCase['header'] => ({ shape: v.shape, spacing: v.spacing, affine: v.affine, xformCode: v.xformCode, slope: v.slope, inter: v.inter });

/** Opens the data named by `inputs` (one folder, or NIfTI files/folders). `seed` picks the BraTS split. */
/**
 * How image volumes are read (`maxVoxels`, `nonFinite`: see readNifti); label volumes take only the
 * voxel limit (NaN is never a label).
 */
export type ImageRead = Pick<ReadOptions, 'maxVoxels' | 'nonFinite'>;

/** The same reading in one form (defaults dropped, keys in one order), for recording and comparing. */
export function normaliseRead(read: ImageRead | undefined): ImageRead {
  return {
    ...(read?.nonFinite === 'zero' || read?.nonFinite === 'keep' ? { nonFinite: read.nonFinite } : {}),
    ...(read?.maxVoxels !== undefined && read.maxVoxels !== DEFAULT_MAX_VOXELS ? { maxVoxels: read.maxVoxels } : {}),
  };
}

/**
 * How a volume's intensities are mapped before the encoder sees them: as stored (a synth folder's volumes,
 * generated on one scale), to [0, 1] by the 0.5th and 99.5th percentiles (plain NIfTI files: any scanner's
 * units), or the FLAIR normalisation within the brain mask (a BraTS-layout folder). Each kind of data has
 * its own; a model expects its training data's, whatever kind of input it is later given.
 */
export type IntensityMapping = 'as-is' | 'robust-unit' | 'brats-flair';
export const INTENSITY_MAPPINGS: readonly IntensityMapping[] = ['as-is', 'robust-unit', 'brats-flair'];

export function mappingOf(kind: DataKind): IntensityMapping {
  return kind === 'synth' ? 'as-is' : kind === 'nifti' ? 'robust-unit' : 'brats-flair';
}

export function mapIntensities(mapping: IntensityMapping, x: Float32Array): Float32Array {
  return mapping === 'as-is' ? x : mapping === 'robust-unit' ? robustUnit(x) : normaliseFlair(x).image;
}

/** `mapping`: the images' intensity mapping (default: their kind's, mappingOf). */
export async function openData(inputs: string[], seed = 0, read: ImageRead = {}, mapping?: IntensityMapping): Promise<DataSource> {
  if (inputs.length === 0) throw new HypersegError('INVALID_ARGUMENT', 'no input data given', { suggestion: 'pass --data DIR (a `hyperseg synth` folder, a BraTS-layout folder) or NIfTI files' });
  const paths = inputs.map((p) => resolve(p));
  for (const p of paths) if (!existsSync(p)) throw new HypersegError('FILE_NOT_FOUND', `${p}: no such file or folder`);
  if (paths.length === 1 && statSync(paths[0]).isDirectory()) {
    const dir = paths[0];
    if (existsSync(join(dir, 'manifest.json'))) return openSynth(dir, read, mapping ?? mappingOf('synth'));
    const entries = await readdir(dir, { withFileTypes: true });
    if (entries.some((e) => e.isDirectory() && looksLikeBratsCase(dir, e.name))) {
      return openBrats(dir, seed, read, mapping ?? mappingOf('brats'));
    }
  }
  return openNiftiFiles(paths, read, mapping ?? mappingOf('nifti'));
}

async function openSynth(dir: string, read: ImageRead, mapping: IntensityMapping): Promise<DataSource> {
  const m = await readSynthManifest(dir);
  const cases: CaseRef[] = m.volumes.map((v) => ({
    id: v.id,
    split: v.split,
    files: [join(dir, v.image), ...Object.values(v.labels).map((l) => join(dir, l))],
    truth: Object.keys(v.labels).length > 0,
    async load(): Promise<LoadedCase> {
      const img = await readNifti(join(dir, v.image), read);
      const targets: Target[] = [];
      for (const [level, file] of Object.entries(v.labels).sort()) {
        const lab = await readNifti(join(dir, file), { maxVoxels: read.maxVoxels });
        if (lab.shape.join() !== img.shape.join()) {
          throw new HypersegError('SHAPE_MISMATCH', `${join(dir, file)} has shape ${lab.shape.join('×')} but ${join(dir, v.image)} has shape ${img.shape.join('×')}`);
        }
        const k = m.levels.find((l) => String(l.level) === level)?.classes.length ?? 2 ** Number(level);
        targets.push({ name: `level${level}`, k, labels: labelData(lab, join(dir, file)), classes: Array.from({ length: k }, (_, i) => i) });
      }
      return { id: v.id, image: mapIntensities(mapping, scaledData(img)), shape: img.shape, header: headerOf(img), targets };
    },
  }));
  const size = m.size;
  return { kind: 'synth', inputs: [dir], cases, sampler: { rMin: 5, rMax: Math.min(35, size - 1), lMax: 15, scale: 'uniform' } };
}

async function openBrats(dir: string, seed: number, read: ImageRead, mapping: IntensityMapping): Promise<DataSource> {
  const list = await listBratsCases(dir);
  const split = bratsSplit(list.map((c) => c.id), seed);
  const splitOf = new Map<string, CaseRef['split']>();
  for (const k of ['train', 'val', 'test'] as const) for (const id of split[k]) splitOf.set(id, k);
  const cases: CaseRef[] = list.map((c) => ({
    id: c.id,
    split: splitOf.get(c.id) ?? 'train',
    files: c.seg ? [c.flair, c.seg] : [c.flair],
    truth: Boolean(c.seg),
    async load(): Promise<LoadedCase> {
      const v = await loadBratsCase(c, read);
      const targets: Target[] = [];
      if (v.seg) {
        const t = new Int32Array(v.seg.length);
        for (let i = 0; i < t.length; i++) t[i] = v.seg[i] > 0 ? 2 : v.brainMask[i] ? 1 : 0;
        targets.push({ name: 'whole-tumour', k: 3, labels: t, classes: [0, 1, 2], focus: 2 });
      }
      // the brain mask (for the truth's classes) is the FLAIR's whatever the mapping
      return { id: c.id, image: mapping === 'brats-flair' ? v.image : mapIntensities(mapping, scaledData(v.flair)), shape: v.flair.shape, header: headerOf(v.flair), targets };
    },
  }));
  return { kind: 'brats', inputs: [dir], cases, sampler: { rMin: 5, rMax: 120, lMax: 40, scale: 'log' } };
}

const isNifti = (p: string) => /\.nii(\.gz)?$/i.test(p);
/** A plain NIfTI file that is the truth of NAME.nii[.gz] beside it. */
const TRUTH_FILE = /_(seg|label|labels|truth|gt)\.nii(\.gz)?$/i;

/**
 * A label file as a target: k = its number of distinct values; two values: the larger is the foreground.
 * `shape`: its image's, checked. A file of a single value (a case without the structure: all background)
 * has no clusters to match: it gives `{ unscored }` naming it, and the case is segmented but not scored.
 */
export async function truthTarget(file: string, image?: { path: string; shape: Shape3; affine: number[][] }, read: ImageRead = {}): Promise<Target | { unscored: string }> {
  const vol = await readNifti(file, { maxVoxels: read.maxVoxels });
  if (image) {
    if (vol.shape.join() !== image.shape.join()) throw new HypersegError('SHAPE_MISMATCH', `${file} has shape ${vol.shape.join('×')}, its image ${image.shape.join('×')}`);
    checkTruthGrid(file, vol.affine, image.path, image.affine);
  }
  const labels = labelData(vol, file);
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  if (classes.length < 2) return { unscored: `${file} has a single label value (${classes[0]}): no classes to match clusters to, so this volume is not scored` };
  if (classes.length > 255) throw new HypersegError('INVALID_INPUT', `${file} has ${classes.length} distinct label values: more classes than k-means may cluster (255)`);
  return { name: 'truth', k: classes.length, labels, classes, ...(classes.length === 2 ? { focus: classes[1] } : {}) };
}

async function openNiftiFiles(paths: string[], read: ImageRead, mapping: IntensityMapping): Promise<DataSource> {
  const files: string[] = [];
  const named: string[] = []; // files given by name, not found in a folder
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      const names = (await readdir(p)).filter(isNifti).sort();
      files.push(...names.map((n) => join(p, n)));
    } else if (isNifti(p)) {
      files.push(p);
      named.push(p);
    } else {
      throw new HypersegError('INVALID_INPUT', `${p}: not a NIfTI file (.nii or .nii.gz), a hyperseg synth folder or a BraTS-layout folder`);
    }
  }
  // label files are the truth of the image beside them, not images
  const stemOf = (f: string) => join(dirname(f), basename(f).replace(/\.nii(\.gz)?$/i, ''));
  const truthStem = (t: string) => join(dirname(t), basename(t).replace(TRUTH_FILE, ''));
  // an image given by name has its truth beside it, as in a folder (it was ignored: nothing was scored)
  for (const f of named) {
    if (TRUTH_FILE.test(basename(f)) || files.some((t) => TRUTH_FILE.test(basename(t)) && truthStem(t) === stemOf(f))) continue;
    const beside = (await readdir(dirname(f))).filter((n) => isNifti(n) && TRUTH_FILE.test(n) && truthStem(join(dirname(f), n)) === stemOf(f));
    files.push(...beside.sort().map((n) => join(dirname(f), n)));
  }
  const images = [...new Set(files.filter((f) => !TRUTH_FILE.test(basename(f))))]; // a file named twice is one volume
  const truthOf = new Map<string, string>();
  for (const t of [...new Set(files.filter((f) => TRUTH_FILE.test(basename(f))))]) {
    const stem = truthStem(t);
    if (!images.some((f) => stemOf(f) === stem)) {
      const image = ['.nii.gz', '.nii'].map((e) => stem + e).find((f) => existsSync(f));
      if (image) {
        throw new HypersegError('INVALID_INPUT', `${t} is the label file (the truth) of ${image}, not an image`, { suggestion: `pass ${image}: its truth is found beside it` });
      }
      throw new HypersegError('INVALID_INPUT', `${t}: a label file with no image ${basename(stem)}.nii or ${basename(stem)}.nii.gz beside it`, { suggestion: 'label files (NAME_seg, _label, _labels, _truth, _gt) are the truth of NAME; rename the file if it is an image' });
    }
    const other = truthOf.get(stem);
    if (other) throw new HypersegError('INVALID_INPUT', `two label files for ${basename(stem)}: ${other} and ${t}`);
    truthOf.set(stem, t);
  }
  if (images.length === 0) throw new HypersegError('INVALID_INPUT', `no NIfTI images in ${paths.join(', ')}${files.length ? ' (only label files)' : ''}`);
  const ids = images.map((f) => basename(f).replace(/\.nii(\.gz)?$/i, ''));
  const seen = new Set<string>();
  const cases: CaseRef[] = images.map((f, i) => {
    let id = ids[i];
    for (let n = 2; seen.has(id); n++) id = `${ids[i]}_${n}`;
    seen.add(id);
    const truthFile = truthOf.get(stemOf(f));
    return {
      id, split: 'all', files: truthFile ? [f, truthFile] : [f], truth: Boolean(truthFile),
      async load(): Promise<LoadedCase> {
        const v = await readNifti(f, read);
        const t = truthFile ? await truthTarget(truthFile, { path: f, shape: v.shape, affine: v.affine }, read) : null;
        const targets = t && 'labels' in t ? [t] : [];
        return { id, image: mapIntensities(mapping, scaledData(v)), shape: v.shape, header: headerOf(v), targets, ...(t && 'unscored' in t ? { unscored: t.unscored } : {}) };
      },
    };
  });
  return { kind: 'nifti', inputs: paths, cases, sampler: { rMin: 5, rMax: 35, lMax: 15, scale: 'uniform' } };
}

/** Maps intensities to [0, 1] by their 0.5th and 99.5th percentiles (from a strided sample), clipped. */
export function robustUnit(x: Float32Array): Float32Array {
  const stride = Math.max(1, Math.floor(x.length / 200_000));
  const sample = new Float32Array(Math.ceil(x.length / stride));
  for (let i = 0, j = 0; i < x.length; i += stride, j++) sample[j] = x[i];
  sample.sort();
  const lo = sample[Math.floor(0.005 * (sample.length - 1))];
  const hi = sample[Math.ceil(0.995 * (sample.length - 1))];
  const span = hi > lo ? hi - lo : 1;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.min(1, Math.max(0, (x[i] - lo) / span));
  return out;
}

/**
 * Sampler settings for the volumes actually loaded: the source's defaults, with anchors capped below
 * the smallest side and, for volumes larger than 100 voxels a side, the log-uniform anchor sizes DESIGN
 * asks for on large inputs.
 */
export function samplerFor(source: DataSource, shapes: Shape3[]): DataSource['sampler'] {
  const minSide = Math.min(...shapes.flat());
  const base = source.sampler;
  if (source.kind === 'nifti' && minSide > 100) return { rMin: 5, rMax: Math.min(120, minSide - 1), lMax: 40, scale: 'log' };
  return { ...base, rMax: Math.min(base.rMax, minSide - 1), lMax: Math.min(base.lMax, minSide - 2) };
}

/**
 * Reads every case once, whole (image, truth, their grids), and drops it: a command that works volume by
 * volume checks them all before the first one's work, so that a truncated .nii.gz or a NaN voxel late in a
 * folder is named at once, not after the others were trained on or embedded. Headers alone do not show a
 * gzip stream that ends early. Costs one read per volume (about 0.3 s for a BraTS case).
 */
export async function checkCases(cases: CaseRef[]): Promise<void> {
  for (const c of cases) await c.load();
}

/** The cases of one split ('all' = every case). */
export function casesOf(source: DataSource, split: Split): CaseRef[] {
  if (split === 'all' || source.kind === 'nifti') return source.cases;
  return source.cases.filter((c) => c.split === split);
}
