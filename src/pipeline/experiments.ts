/**
 * Whole experiments built from the pipeline's parts:
 *  - quickstart: synthetic data → train (small preset) → segment the test split → evaluate → report
 *    and pictures, in one folder; re-running it continues where it stopped (data reused, training resumed);
 *  - ablate: the paper's six configurations (Table 2) trained with the same seed and budget, each
 *    segmented and scored on the same test split, with baselines: k-means on raw intensities and on
 *    3³ and 5³ box means of intensity (what an encoder that learned only brightness would give), and
 *    k-means on the codes of a plain Euclidean autoencoder trained with the same budget.
 */

import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { BackendName, ModelConfig } from '../backends/index.js';
import { resolveModelConfig } from '../backends/config.js';
import { type Engine, selectEngine } from '../backends/tfjs/engine.js';
import { assignToCentroids, type Centroid, kmeans } from '../cluster/kmeans.js';
import { foreignFolderEntries, writeFileAtomic } from '../data/atomic.js';
import { writeSynthDataset } from '../data/dataset.js';
import { readJsonFile } from '../data/json.js';
import { boxMean } from '../data/filters.js';
import { gridOf, writeNifti } from '../data/nifti.js';
import { HypersegError, within } from '../errors.js';
import { jitterOn, resolveTripletConfig } from '../sampling/triplets.js';
import { casesOf, checkCases, type DataSource, type ImageRead, normaliseRead, openData, type Split, truthTarget } from './inputs.js';
import { type Aggregate, evaluateRun, meanSd, scoreSegmentation, tableHeader, tableRow } from './report.js';
import { SEGMENT_VERSION, type SegmentSummary, segment } from './segment.js';
import { atMost, type ChildTrainOptions, type ConcurrentJob, trainConcurrently } from './concurrent.js';
import { readRunConfig, type TrainSummary, train } from './train.js';

/** Where the compute runs (shared by the experiments; see TrainOptions for each field). */
export interface ComputeChoice {
  backend?: BackendName;
  engine?: Engine;
  threads?: number;
  device?: string;
  workers?: string[];
}

export interface QuickstartOptions extends ComputeChoice {
  out: string;
  count?: number;
  steps?: number;
  batch?: number;
  seed?: number;
  /** Cluster centres for the segmentation: Fréchet means (default) or medians (k-medians). */
  centroid?: Centroid;
  /** The sampler's intensity jitter [gain, offset] (default QUICKSTART_JITTER; [0, 0]: off; a re-run keeps the run's). */
  jitter?: [number, number];
  signal?: AbortSignal;
  onLog?: (line: string) => void;
  onStep?: (step: number, total: number) => void;
}

export interface QuickstartResult {
  out: string;
  report: string;
  montage?: string;
  disk?: string;
  aggregates: Aggregate[];
  /** The feature baselines on the same test volumes (k-means on raw intensities, on 3³ and 5³ box means). */
  baselines: AblationRow[];
  seconds: { data: number; train: number; segment: number; evaluate: number; total: number };
  train: TrainSummary;
  completed: boolean;
}

/**
 * Default training budget: what fits the 10-minute quickstart on a 2-core CPU. TensorFlow.js on its
 * native engine trains at about a third of torch's rate here, on wasm/cpu at about 1/150.
 */
export const QUICKSTART_STEPS = { torch: 1500, tfjsNative: 400, tfjsJs: 20 } as const;

/**
 * The quickstart's intensity jitter (sampling/triplets.ts): gain U(0.85, 1.15), offset U(−0.5, 0.5) volume
 * standard deviations per patch. Not part of DESIGN's method (ablate trains without it); measured on the
 * quickstart's data in docs/level1.md: level 1 past 0.90 for seeds 0, 1, 2 of six (one without it), level 2
 * higher for all six, one seed collapsed at level 1.
 */
export const QUICKSTART_JITTER: [number, number] = [0.15, 0.5];

/**
 * The quickstart's torch threads unless --threads says otherwise: the thread count orders torch's sums, so
 * it is part of a run's seed (README: seed 0 gives 0.851 at level 1 with two threads, 0.800 with one). Two,
 * the count of the machine its figures were measured on, so that a larger machine reproduces them instead
 * of drawing another run.
 */
export const QUICKSTART_THREADS = 2;

const jitterWords = (j: [number, number]) => (jitterOn(j) ? `, intensity jitter: gain ±${j[0]}, offset ±${j[1]} sd` : '');

export async function quickstartSteps(backend: BackendName, engine?: Engine): Promise<number> {
  if (backend === 'torch') return QUICKSTART_STEPS.torch;
  const e = await selectEngine(engine);
  return e === 'node' || e === 'node-gpu' ? QUICKSTART_STEPS.tfjsNative : QUICKSTART_STEPS.tfjsJs;
}

/**
 * quickstart and ablate write many entries into --out and continue what a folder holds: only a new or empty
 * folder, or one of their own (one of `markers` in it), is taken, and never the data folder or one inside it
 * (ablate into a training run or into its dataset wrote seven model folders and tables among its files).
 */
async function assertOwnFolder(out: string, command: string, markers: string[], data?: string): Promise<void> {
  if (data !== undefined) {
    const d = resolve(data);
    if (out === d || out.startsWith(d + sep)) throw new HypersegError('INVALID_ARGUMENT', `--out ${out} is the data folder or inside it`, { suggestion: 'choose an --out outside --data' });
  }
  if ((await foreignFolderEntries(out, markers)) === null) return;
  throw new HypersegError('INVALID_ARGUMENT', `--out ${out} holds other files, not the folder of an earlier ${command} (none of ${markers.join(', ')})`, {
    suggestion: `choose a new or empty folder for ${command}; an earlier ${command} folder is continued`,
  });
}

export async function quickstart(options: QuickstartOptions): Promise<QuickstartResult> {
  const out = resolve(options.out);
  await assertOwnFolder(out, 'quickstart', ['quickstart.json', join('data', 'manifest.json'), join('run', 'config.json')]);
  const log = options.onLog ?? (() => undefined);
  const run = join(out, 'run');
  const resume = existsSync(join(run, 'config.json'));
  // a re-run keeps its run's backend unless told otherwise (train refuses another for a run it resumes)
  const backend = options.backend ?? (resume ? (await readRunConfig(run)).backend : 'torch');
  const t0 = performance.now();
  const secs = { data: 0, train: 0, segment: 0, evaluate: 0, total: 0 };
  await mkdir(out, { recursive: true });
  const data = join(out, 'data');
  let t = performance.now();
  if (!existsSync(join(data, 'manifest.json'))) {
    log(`1/4 generating ${options.count ?? 30} synthetic volumes in ${relative(process.cwd(), data)}`);
    await writeSynthDataset({ out: data, count: options.count ?? 30, seed: options.seed ?? 0 });
  } else {
    log(`1/4 reusing the synthetic data in ${relative(process.cwd(), data)}`);
  }
  secs.data = (performance.now() - t) / 1000;
  t = performance.now();
  const steps = options.steps ?? (await quickstartSteps(backend, options.engine));
  // a re-run continues (or reuses) the run as it was: what it was not given again (steps, batch, seed, jitter) is the run's own
  const again = <T>(given: T | undefined, fresh: T): T | undefined => (resume ? given : given ?? fresh);
  const jitter = again(options.jitter, QUICKSTART_JITTER);
  const threads = options.threads ?? (backend === 'torch' && !options.workers?.length ? QUICKSTART_THREADS : undefined);
  log(resume ? `2/4 resuming the run in ${relative(process.cwd(), run)} on ${backend}` : `2/4 training the small preset on ${backend} (${steps} steps of ${options.batch ?? 32} triplets${jitterWords(jitter!)}${threads ? `, ${threads} torch thread${threads === 1 ? '' : 's'}` : ''})`);
  const tr = await train({
    data: [data], out: run, resume, backend, engine: options.engine, model: { preset: 'small' }, seed: again(options.seed, 0), steps: again(options.steps, steps),
    batch: again(options.batch, 32), sampler: jitter && { jitter }, threads, device: options.device, workers: options.workers, signal: options.signal, onStep: (r, total) => options.onStep?.(r.step, total), onLog: log,
    resumeHint: null, // the quickstart says how to continue (run it again)
  });
  secs.train = (performance.now() - t) / 1000;
  if (!tr.completed) {
    secs.total = (performance.now() - t0) / 1000;
    return { out, report: '', aggregates: [], baselines: [], seconds: secs, train: tr, completed: false };
  }
  t = performance.now();
  const segDir = join(out, 'segmentation');
  log(`3/4 segmenting the test volumes (dense path, k = 2, 4, 8${options.centroid === 'median' ? ', k-medians' : ''})`);
  const seg = await segment({ model: run, input: [data], out: segDir, ownedOut: true, reuse: true, ks: [2, 4, 8], centroid: options.centroid, signal: options.signal, backend, engine: options.engine, threads, device: options.device, workers: options.workers, onLog: log });
  secs.segment = (performance.now() - t) / 1000;
  t = performance.now();
  const centroid = options.centroid ?? 'mean';
  log(`4/4 evaluating and writing the report (with ${clusteredBy('k-means', centroid)} on raw intensities and on their 3³ and 5³ box means as baselines)`);
  const baselines = await featureBaselines(await openData([data], options.seed ?? 0), join(out, 'baselines'), 'test', [2, 4, 8], options.seed ?? 0, {}, centroid);
  const rep = await evaluateRun(segDir, { title: 'hyperseg quickstart', extra: baselines.map((b) => tableRow(b.method, b.aggregates)) });
  secs.evaluate = (performance.now() - t) / 1000;
  secs.total = (performance.now() - t0) / 1000;
  await copyFile(join(segDir, 'report.md'), join(out, 'report.md')).catch(() => undefined);
  const first = seg.cases[0];
  const result: QuickstartResult = {
    out, report: join(segDir, 'report.md'), montage: first?.montage && join(segDir, first.montage), disk: first?.disk && join(segDir, first.disk),
    aggregates: rep.aggregates, baselines, seconds: secs, train: tr, completed: true,
  };
  await writeFileAtomic(join(out, 'quickstart.json'), `${JSON.stringify({ ...result, train: { steps: tr.steps, seconds: tr.seconds, stepsPerSecond: tr.stepsPerSecond, tail: tr.tail, backend: tr.backend } }, null, 1)}\n`);
  return result;
}

/** The paper's ablation (Table 2), in its order. */
export const ABLATION: { name: string; model: ModelConfig }[] = [
  { name: 'Euclidean base', model: { hyperbolic: false, gyroconv: false, triplet: false } },
  { name: 'Euclidean + triplet', model: { hyperbolic: false, gyroconv: false, triplet: true } },
  { name: 'hyperbolic base', model: { hyperbolic: true, gyroconv: false, triplet: false } },
  { name: 'hyperbolic + gyroconv', model: { hyperbolic: true, gyroconv: true, triplet: false } },
  { name: 'hyperbolic + triplet', model: { hyperbolic: true, gyroconv: false, triplet: true } },
  { name: 'hyperbolic + gyroconv + triplet', model: { hyperbolic: true, gyroconv: true, triplet: true } },
];
/** The second baseline: k-means on the codes of a plain Euclidean autoencoder, trained to the same budget. */
const AUTOENCODER: { name: string; model: ModelConfig } = { name: 'k-means on Euclidean autoencoder codes', model: { hyperbolic: false, gyroconv: false, triplet: false, autoencoder: true } };
/** The model keys the ablation's runs differ in (ablate's shared --config may not set them). */
const ABLATION_KEYS = ['hyperbolic', 'gyroconv', 'triplet', 'autoencoder'];
/** Settings of the variational bound alone: the autoencoder baseline, which has none, leaves them out of the shared ones. */
const BOUND_KEYS = ['kl_warmup', 'free_bits', 'iwae', 'samples'];

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

export interface AblateOptions extends ComputeChoice {
  data: string;
  /** How image volumes are read (voxel limit, NaN/Inf). */
  read?: ImageRead;
  out: string;
  preset?: 'small' | 'valid' | 'paper';
  /**
   * Model settings every run shares, over the preset's (e.g. `{"latent_dim": 4}` or `{"lr_warmup": 0}`);
   * not the keys the configurations differ in (hyperbolic, gyroconv, triplet, autoencoder) nor preset.
   * A re-run without it keeps the folder's.
   */
  model?: ModelConfig;
  steps?: number;
  batch?: number;
  seed?: number;
  /**
   * Train every configuration once per seed (folders <config>/seed-<S>) and report the mean ± sd over
   * seeds of each seed's mean over the test volumes; the data split and the feature baselines use the
   * first. Overrides `seed`.
   */
  seeds?: number[];
  split?: Split;
  /** Only these configurations (names or slugs); default all six. */
  only?: string[];
  /**
   * Train up to this many runs at once, each in its own process with its own worker (default 1: one
   * after another in this process). Not with `workers` (the runs would queue on the same workers).
   */
  concurrent?: number;
  /**
   * Cluster centres for every row, the feature baselines' included: Fréchet (Euclidean for Euclidean
   * models) means, the method's, or medians (k-medians). A re-run without it keeps the folder's; with
   * the other, it re-clusters every row without training again.
   */
  centroid?: Centroid;
  /**
   * The sampler's intensity jitter [gain, offset] for every trained run, the autoencoder baseline's
   * included (sampling/triplets.ts; default [0, 0], off: DESIGN's sampler, which the paper's table
   * measures). A re-run without it keeps the folder's; another is refused (the runs would need retraining).
   */
  jitter?: [number, number];
  signal?: AbortSignal;
  onLog?: (line: string) => void;
}

/** ablate-budget.json: the folder's budget (replaced only by a run of all six configurations) and the settings a re-run keeps. */
interface FolderSettings {
  steps: number;
  batch: number;
  preset: 'small' | 'valid' | 'paper';
  /** The shared model settings (absent in folders made before they could be given: none). */
  model?: ModelConfig;
  seeds: number[];
  backend: BackendName;
  /** Absent: means (folders made before it could be chosen, too). */
  centroid?: 'median';
  /** Absent: no jitter. */
  jitter?: [number, number];
}

/** ablation.json: the table and what it was made with (batch and read recorded since they are checked). */
interface AblationRecord {
  data: string;
  preset: string;
  model?: ModelConfig;
  steps: number;
  seeds: number[];
  batch?: number;
  read?: ImageRead;
  /** Absent: means. */
  centroid?: 'median';
  /** Absent: no jitter. */
  jitter?: [number, number];
  rows: AblationRow[];
}

export interface AblationRow {
  method: string;
  aggregates: Aggregate[];
  trainSeconds?: number;
  steps?: number;
  /** With several seeds: the seeds, and each seed's aggregates (over volumes) that `aggregates` summarises. */
  seeds?: number[];
  perSeed?: Aggregate[][];
}

/** Per target and k: the mean and sd over seeds of each seed's mean over volumes. */
function acrossSeeds(perSeed: Aggregate[][]): Aggregate[] {
  return perSeed[0].map((first) => {
    const same = perSeed.map((aggs) => aggs.find((a) => a.target === first.target && a.k === first.k));
    const over = (pick: (a: Aggregate) => { mean: number } | undefined) => meanSd(same.map((a) => (a && pick(a)?.mean) ?? Number.NaN));
    const a: Aggregate = { target: first.target, k: first.k, cases: first.cases, dice: over((x) => x.dice) };
    if (first.focusDice) Object.assign(a, { focusDice: over((x) => x.focusDice), hd95: over((x) => x.hd95), assd: over((x) => x.assd) });
    return a;
  });
}

/** A baseline's name as clustered: "k-means on …", or "k-medians on …" with medians for centres. */
const clusteredBy = (method: string, centroid: Centroid): string => (centroid === 'median' ? method.replace(/^k-means/, 'k-medians') : method);

/** The feature baselines: k-means on raw intensities (box 1), and on each voxel's box mean (3³, and 5³ = the inference patch's extent). */
const FEATURE_BASELINES = [
  { box: 1, method: 'k-means on raw intensities', dir: 'baseline-intensity' },
  { box: 3, method: 'k-means on 3³ box means of intensity', dir: 'baseline-box3' },
  { box: 5, method: 'k-means on 5³ box means of intensity', dir: 'baseline-box5' },
] as const;

/**
 * k-means (Euclidean, per volume) on a one-number feature per voxel: its intensity (box = 1) or the
 * mean intensity of its box³ neighbourhood. The floor every learned representation must beat: a
 * local mean is what an encoder that only learned brightness would give. Each baseline in `todo` is
 * written to OUT/<its folder> as a segmentation folder; every volume is loaded once for all of them.
 */
async function intensityBaselines(source: DataSource, out: string, todo: readonly (typeof FEATURE_BASELINES)[number][], split: Split, ks: number[], seed: number, read: ImageRead, centroid: Centroid): Promise<void> {
  const summaries = todo.map((b): SegmentSummary => ({
    format: 'hyperseg-segmentation', version: SEGMENT_VERSION,
    model: { weights: `baseline: ${b.method}`, config: resolveModelConfig({ hyperbolic: false, gyroconv: false, triplet: false, latent_dim: 1 }) },
    data: { inputs: source.inputs, kind: source.kind, split, ...(Object.keys(normaliseRead(read)).length ? { read: normaliseRead(read) } : {}) }, ks, p: 1, path: 'per-patch', backend: { backend: 'none' }, cases: [], seconds: 0, peakRssMB: 0,
    clustering: { seed, fitSample: 20_000, nInit: 5, ks, ...(centroid === 'median' ? { centroid } : {}) },
  }));
  for (const ref of casesOf(source, split)) {
    const c = await ref.load();
    for (const [bi, b] of todo.entries()) {
      const dir = join(out, b.dir);
      const t = performance.now();
      await mkdir(join(dir, c.id), { recursive: true });
      const labels: Record<string, string> = {};
      const feature = b.box === 1 ? c.image : boxMean(c.image, c.shape, (b.box - 1) / 2);
      // the same subsample-then-assign scheme as segment, in one dimension
      const n = feature.length;
      const stride = Math.max(1, Math.floor(n / 20_000));
      const sample = new Float32Array(Math.ceil(n / stride));
      for (let i = 0, j = 0; i < n; i += stride, j++) sample[j] = feature[i];
      for (const k of ks) {
        const fit = kmeans(sample, 1, { k, geometry: 'euclidean', centroid, seed, nInit: 5 });
        const lab = Uint8Array.from(assignToCentroids(feature, 1, fit.centroids, { k, geometry: 'euclidean', centroid }).labels);
        const file = `${c.id}/${c.id}_k${k}.nii.gz`;
        await writeNifti(join(dir, file), { shape: c.shape, ...gridOf(c.header), data: lab });
        labels[String(k)] = file;
      }
      summaries[bi].cases.push({ id: c.id, shape: c.shape, files: ref.files, labels, embedSeconds: 0, clusterSeconds: (performance.now() - t) / 1000, voxelsPerSecond: 0, inertia: {}, counts: {} });
    }
  }
  for (const [bi, b] of todo.entries()) await writeFileAtomic(join(out, b.dir, 'segment.json'), `${JSON.stringify(summaries[bi], null, 1)}\n`);
}

/** Each feature baseline in OUT/<its folder> (reused when already there), scored. `source`: the data opened with `seed` and `read`. */
async function featureBaselines(source: DataSource, out: string, split: Split, ks: number[], seed: number, read: ImageRead, centroid: Centroid, log: (line: string) => void = () => undefined): Promise<AblationRow[]> {
  const ids = casesOf(source, split).map((c) => c.id);
  const todo: (typeof FEATURE_BASELINES)[number][] = [];
  for (const b of FEATURE_BASELINES) {
    const path = join(out, b.dir, 'segment.json');
    if (!existsSync(path)) {
      todo.push(b);
      continue;
    }
    // reused only when it scored the same volumes the same way (a folder of an earlier ablation on other data must not);
    // clustered with the other centroid, it is clustered again
    const was = await readJsonFile<SegmentSummary>(path, 'a baseline segmentation summary');
    if ((was.clustering?.centroid ?? 'mean') !== centroid) {
      todo.push(b);
      continue;
    }
    const wasIds = (was.cases ?? []).map((c) => c.id);
    const same = JSON.stringify(was.data?.inputs) === JSON.stringify(source.inputs) && JSON.stringify(wasIds) === JSON.stringify(ids)
      && JSON.stringify(was.ks) === JSON.stringify(ks) && JSON.stringify(normaliseRead(was.data?.read)) === JSON.stringify(read);
    if (!same) {
      throw new HypersegError('INVALID_ARGUMENT', `${out} holds an ablation of other data or settings: ${path} clustered ${JSON.stringify(was.data?.inputs)} (${wasIds.length} ${was.data?.split} volumes, k = ${was.ks?.join(', ')}), this run asks for ${JSON.stringify(source.inputs)} (${ids.length} ${split} volumes, k = ${ks.join(', ')})`, {
        suggestion: 'choose another --out for this data, or re-run with the data and options it was made with',
      });
    }
  }
  if (todo.length > 0) {
    log(`baselines: ${todo.map((b) => clusteredBy(b.method, centroid)).join('; ')}`);
    await intensityBaselines(source, out, todo, split, ks, seed, read, centroid);
  }
  const rows: AblationRow[] = [];
  for (const b of FEATURE_BASELINES) rows.push({ method: clusteredBy(b.method, centroid), aggregates: (await scoreSegmentation(join(out, b.dir))).aggregates });
  return rows;
}

export async function ablate(options: AblateOptions): Promise<{ rows: AblationRow[]; table: string; report: string }> {
  const out = resolve(options.out);
  await assertOwnFolder(out, 'ablate', ['ablate-budget.json', 'ablation.json'], options.data);
  const log = options.onLog ?? (() => undefined);
  // what a re-run is not given again (budget, batch, preset, seeds) is the folder's own: ablate-budget.json,
  // else (folders made before it recorded them) its table; defaults 1,500 steps of 32, small, seed 0
  const earlierTable = existsSync(join(out, 'ablation.json')) ? await readJsonFile<AblationRecord>(join(out, 'ablation.json'), 'the earlier ablation table') : undefined;
  const budgetFile = join(out, 'ablate-budget.json');
  const folder: Partial<FolderSettings> = existsSync(budgetFile) ? await readJsonFile<Partial<FolderSettings>>(budgetFile, 'the earlier ablation budget') : {};
  const seeds = options.seeds?.length ? options.seeds : options.seed !== undefined ? [options.seed] : (folder.seeds ?? earlierTable?.seeds ?? [0]);
  if (new Set(seeds).size !== seeds.length || seeds.some((x) => !Number.isInteger(x) || x < 0)) throw new HypersegError('INVALID_ARGUMENT', `seeds must be different integers ≥ 0, got ${seeds.join(',')}`);
  const multi = seeds.length > 1;
  const read = normaliseRead(options.read);
  const source = await openData([options.data], seeds[0], read);
  // the budget: as asked, else the one this folder was started with (a plain re-run must not extend every run), else 1,500
  const stepsPer = options.steps ?? folder.steps ?? earlierTable?.steps ?? 1500;
  const split: Split = options.split ?? (source.kind === 'nifti' ? 'all' : 'test');
  const scored = casesOf(source, split).filter((c) => c.truth);
  if (scored.length === 0) {
    throw new HypersegError('INVALID_INPUT', `ablate scores every configuration against ground truth, and no ${split === 'all' ? '' : `${split} `}volume of ${options.data} has any`, {
      suggestion: source.kind === 'nifti' ? 'put each image\'s label file beside it (NAME_seg.nii.gz for NAME.nii.gz), or use train and segment' : 'use a folder with ground truth, or train and segment',
    });
  }
  let ks: number[];
  if (source.kind === 'brats') ks = [3];
  else if (source.kind === 'synth') ks = [2, 4, 8];
  else {
    // plain NIfTI files: each label file's number of values (files: [image, truth])
    const found = new Set<number>();
    const unscored: string[] = [];
    for (const c of scored) {
      const t = await truthTarget(c.files[1], undefined, read);
      if ('k' in t) found.add(t.k);
      else unscored.push(t.unscored);
    }
    for (const u of unscored) log(u);
    if (found.size === 0) throw new HypersegError('INVALID_INPUT', `ablate scores every configuration against ground truth, and every label file of ${options.data} has a single value: ${unscored[0]}`);
    ks = [...found].sort((a, b) => a - b);
  }
  const configs = options.only?.length ? ABLATION.filter((a) => options.only?.some((o) => o === a.name || o === slug(a.name))) : ABLATION;
  const all = configs.length === ABLATION.length; // --only naming all six is a full run
  if (configs.length === 0) throw new HypersegError('INVALID_ARGUMENT', `--only matches none of: ${ABLATION.map((a) => slug(a.name)).join(', ')}`);
  const preset = options.preset ?? folder.preset ?? (earlierTable?.preset as FolderSettings['preset'] | undefined) ?? 'small';
  const shared: ModelConfig = options.model ?? folder.model ?? earlierTable?.model ?? {};
  const varied = Object.keys(shared).filter((k) => k === 'preset' || ABLATION_KEYS.includes(k));
  if (varied.length > 0) {
    throw new HypersegError('INVALID_ARGUMENT', `--config sets what every configuration shares; ${varied.join(', ')} ${varied.length === 1 ? 'is' : 'are'} not for it (${varied.includes('preset') ? 'preset is --preset; ' : ''}hyperbolic, gyroconv, triplet and autoencoder are what the configurations differ in)`, {
      suggestion: 'drop those keys; choose configurations with --only',
    });
  }
  const sharedBy = (a: { model: ModelConfig }): ModelConfig => (a.model.autoencoder ? Object.fromEntries(Object.entries(shared).filter(([k]) => !BOUND_KEYS.includes(k))) : shared);
  // every run's configuration checked before anything is written (a bad value names its key)
  for (const a of [AUTOENCODER, ...ABLATION]) resolveModelConfig({ preset, ...sharedBy(a), ...a.model });
  const batch = options.batch ?? folder.batch ?? earlierTable?.batch ?? 32;
  const centroid: Centroid = options.centroid ?? folder.centroid ?? earlierTable?.centroid ?? 'mean';
  const medians = centroid === 'median' ? { centroid } : {};
  const jitter = options.jitter ?? folder.jitter ?? earlierTable?.jitter ?? [0, 0];
  resolveTripletConfig({ jitter }); // a bad value named before anything is written
  const jittered = jitterOn(jitter) ? { jitter } : {};
  const backend: BackendName = options.backend ?? folder.backend ?? 'torch';
  // rows of configurations that --only leaves out this time are kept from the folder's earlier table, when
  // that table was made of the same data, preset, seeds, batch and reading (an --only run rewrote the
  // table with its own rows alone before, losing the others)
  const kept = new Map<string, AblationRow>();
  if (!all && earlierTable) {
    const same = typeof earlierTable.data === 'string' && resolve(earlierTable.data) === resolve(options.data) && earlierTable.preset === preset
      && JSON.stringify(earlierTable.model ?? {}) === JSON.stringify(shared)
      && JSON.stringify(earlierTable.seeds) === JSON.stringify(seeds) && (earlierTable.batch ?? 32) === batch && (earlierTable.centroid ?? 'mean') === centroid
      && JSON.stringify(earlierTable.jitter ?? [0, 0]) === JSON.stringify(jitter)
      && JSON.stringify(normaliseRead(earlierTable.read)) === JSON.stringify(read);
    if (!same) log('the earlier ablation table in this folder was made with other data or settings: only this run\'s configurations go in the new one');
    else for (const row of earlierTable.rows ?? []) if (ABLATION.some((a) => a.name === row.method) && !configs.some((a) => a.name === row.method)) kept.set(row.method, row);
  }
  // every training and test volume read once before the baselines and the first training run (a damaged
  // training file was found only after the baselines, and a damaged test file after the first model trained)
  await checkCases([...new Set([...casesOf(source, 'train'), ...scored])]);
  await mkdir(out, { recursive: true });
  // the budget the folder was started with; replaced once every configuration has been trained to a new one
  const settings = (steps: number): string => `${JSON.stringify({ steps, batch, preset, model: shared, seeds, backend, ...medians, ...jittered } satisfies FolderSettings)}\n`;
  if (!existsSync(budgetFile)) await writeFileAtomic(budgetFile, settings(stepsPer));
  else if ((folder.centroid ?? 'mean') !== centroid) await writeFileAtomic(budgetFile, settings(folder.steps ?? stepsPer)); // kept by a re-run
  const rows: AblationRow[] = [];

  rows.push(...(await featureBaselines(source, out, split, ks, seeds[0], read, centroid, log)));

  const runs = [AUTOENCODER, ...configs];
  // one training run: its folder, its name in the log, and train()'s options (the same in this process and in a child)
  const plan = async (a: (typeof runs)[number], seed: number, threads: number | undefined) => {
    const dir = multi ? join(out, slug(a.name), `seed-${seed}`) : join(out, slug(a.name));
    const run = join(dir, 'run');
    const which = multi ? `${a.name}, seed ${seed}` : a.name;
    // a plain re-run (no --steps) never shortens a run that an --only run trained beyond the budget
    let target = stepsPer;
    if (options.steps === undefined && existsSync(join(run, 'config.json'))) {
      const own = (await readJsonFile<{ steps?: unknown }>(join(run, 'config.json'), `${which}'s run configuration`)).steps;
      if (typeof own === 'number' && Number.isInteger(own) && own > stepsPer) target = own;
    }
    const trainOptions: ChildTrainOptions = {
      data: [options.data], read, splitSeed: seeds[0], out: run, resume: existsSync(join(run, 'config.json')), backend, engine: options.engine, model: { preset, ...sharedBy(a), ...a.model },
      seed, steps: target, batch, sampler: { jitter }, threads, device: options.device, workers: options.workers, resumeHint: null,
    };
    // the segmentation every run gets (the same options in the concurrent pass and in the loop, so the loop reuses it)
    const segDir = join(dir, 'segmentation');
    const segOptions = (onLog: (line: string) => void) => ({
      model: run, input: [options.data], read, seed: seeds[0], signal: options.signal, out: segDir, ownedOut: true, reuse: true, ks, split, centroid, backend,
      engine: options.engine, threads, device: options.device, workers: options.workers, pictures: a === runs[runs.length - 1] && seed === seeds[0], embeddings: false, onLog,
    });
    return { run, which, target, trainOptions, segDir, segOptions };
  };
  const concurrent = options.concurrent ?? 1;
  if (concurrent > 1) {
    if (options.workers?.length) throw new HypersegError('INVALID_ARGUMENT', '--concurrent starts a worker for each run; with --workers every run would queue on the same workers', { suggestion: 'drop --concurrent, or drop --workers and give --device' });
    // each run's worker gets its share of the cores unless --threads says otherwise
    const threads = options.threads ?? Math.max(1, Math.floor(availableParallelism() / concurrent));
    const jobs: ConcurrentJob[] = [];
    for (const a of runs) for (const seed of seeds) {
      const p = await plan(a, seed, threads);
      jobs.push({ name: p.which, options: p.trainOptions });
    }
    log(`training ${jobs.length} runs, up to ${concurrent} at once (${threads} torch thread${threads === 1 ? '' : 's'} each)`);
    await trainConcurrently(jobs, concurrent, { signal: options.signal, onLog: log });
    // then every run's segmentation, as many at once, each with its own worker (the encoding runs there;
    // this process clusters and writes); the loop below finds them made and reuses them
    const segs: (() => Promise<void>)[] = [];
    for (const a of runs) for (const seed of seeds) {
      const { which, segOptions } = await plan(a, seed, threads);
      segs.push(async () => {
        try {
          await segment(segOptions((line) => log(`[${which}] ${line}`)));
        } catch (e) {
          throw within(which, e);
        }
      });
    }
    log(`segmenting ${segs.length} runs, up to ${concurrent} at once`);
    await atMost(concurrent, segs);
  }
  for (const a of runs) {
    const perSeed: Aggregate[][] = [];
    let trainSeconds = 0;
    let steps = 0;
    for (const seed of seeds) {
      const { which, target, trainOptions, segDir, segOptions } = await plan(a, seed, options.threads);
      log(`${which}: training (${target} steps)`);
      const tr = await train({ ...trainOptions, signal: options.signal, onLog: log });
      if (!tr.completed) throw new HypersegError('INTERRUPTED', `${which}: training stopped at step ${tr.steps} of ${target}`, { suggestion: 're-run the same ablate command to continue (finished configurations are reused)' });
      log(`${which}: segmenting`);
      await segment(segOptions(log));
      perSeed.push((await evaluateRun(segDir, { title: `hyperseg ablation: ${which}`, method: a.name })).aggregates);
      trainSeconds += tr.seconds;
      steps = tr.steps;
    }
    rows.push({ method: a === AUTOENCODER ? clusteredBy(a.name, centroid) : a.name, aggregates: multi ? acrossSeeds(perSeed) : perSeed[0], trainSeconds, steps, ...(multi ? { seeds, perSeed } : {}) });
  }
  if (kept.size > 0) {
    // in the paper's order, after the autoencoder baseline
    const trained = new Map(rows.splice(rows.findIndex((r) => r.method === clusteredBy(runs[0].name, centroid)) + 1).map((r) => [r.method, r]));
    for (const a of ABLATION) {
      const row = trained.get(a.name) ?? kept.get(a.name);
      if (row) rows.push(row);
    }
  }
  // a row trained to another budget than the header's (kept from an earlier --only run) says so
  const label = (r: AblationRow) => (r.steps !== undefined && r.steps !== stepsPer ? `${r.method} (${r.steps} steps)` : r.method);
  const table = [tableHeader(rows[rows.length - 1].aggregates), ...rows.map((r) => tableRow(label(r), r.aggregates))].join('\n');
  const md = [
    '# hyperseg ablation', '',
    `Data: ${options.data} (${source.kind}), ${split} split. Preset ${preset}${Object.keys(shared).length ? ` with ${JSON.stringify(shared)} in every run` : ''}, ${stepsPer} steps of ${batch} triplets each${jitterWords(jitter)}, ${multi ? `seeds ${seeds.join(', ')}` : `seed ${seeds[0]}`}, backend ${backend}.`,
    multi
      ? 'Average-class Dice after Hungarian matching. Trained rows: mean ± sd over the seeds of each seed\'s mean over the volumes; the three feature baselines (no training): mean ± sd over the volumes.'
      : 'Average-class Dice after Hungarian matching (mean ± sd over volumes).',
    ...(centroid === 'median' ? ['Every row clustered by k-medians: each centre its cluster\'s Fréchet median (Euclidean median for Euclidean codes and the feature baselines), not its mean.'] : []),
    '', table, '',
  ].join('\n');
  // a run of all six sets the budget; an older folder's file (steps alone) gets the settings its runs agreed with
  if (all || folder.batch === undefined) await writeFileAtomic(budgetFile, settings(all ? stepsPer : (folder.steps ?? stepsPer)));
  await writeFileAtomic(join(out, 'ablation.md'), md);
  const record: AblationRecord = { data: options.data, preset, model: shared, steps: stepsPer, seeds, batch, read, ...medians, ...jittered, rows };
  await writeFileAtomic(join(out, 'ablation.json'), `${JSON.stringify(record, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1)}\n`);
  return { rows, table, report: join(out, 'ablation.md') };
}
