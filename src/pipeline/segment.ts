/**
 * Segmentation: per-voxel embeddings (embed.ts), k-means on the ball (Euclidean for Euclidean
 * models) for each k, and the outputs of one folder:
 *   OUT/segment.json                    model, settings, inputs, per case: files written, timings
 *   OUT/<case>/<case>_k<K>.nii.gz       labels (uint8), the input's affine and spacing
 *   OUT/<case>/embeddings.npy           [N, d] float32 means, voxel order x fastest (reused by cluster)
 *   OUT/<case>/montage.png              slices: image, each k's labels, the ground truth when known
 *   OUT/<case>/disk.png                 embeddings on the Poincaré disk by cluster (and by truth)
 * k-means is fitted on a seeded subsample of voxels (default 20,000) and every voxel is then labelled
 * with its nearest centre; `fitSample: 0` fits on all voxels.
 */

import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createBackend, type BackendName, type ComputeBackend, type ModelConfig } from '../backends/index.js';
import { configDifferences, embeddingGeometry, resolveModelConfig, type ResolvedConfig } from '../backends/config.js';
import type { Engine } from '../backends/tfjs/engine.js';
import { assignToCentroids, type Centroid, kmeans } from '../cluster/kmeans.js';
import { buildDirAtomically, foreignFolderEntries, writeFileAtomic } from '../data/atomic.js';
import { isObject, readJsonFile } from '../data/json.js';
import { lockFolder } from '../data/lock.js';
import { gridOf, readNiftiHeader, writeNifti } from '../data/nifti.js';
import { writeNpy } from '../data/npy.js';
import { matchClusters, relabel } from '../eval/hungarian.js';
import { HypersegError, within } from '../errors.js';
import { Rng } from '../random.js';
import { diskPlot, montage, pickSlices, type MontageColumn } from '../report/pictures.js';
import { readSafetensors } from '../weights/safetensors.js';
import { type EmbedOptions, type InferencePath, checkDensePatch, defaultPatch, denseExact, embedVolume } from './embed.js';
import { type CaseRef, type DataKind, type ImageRead, type IntensityMapping, type LoadedCase, type Split, casesOf, checkCases, mappingOf, openData } from './inputs.js';
import { readRunConfig, readRunState } from './train.js';

export interface ModelSource {
  config: ModelConfig;
  weights: string;
  /** The run folder, when the model came from one. */
  run?: string;
  /** Set when the weights are an unfinished run's latest checkpoint. */
  checkpointStep?: number;
  /** The seed the run split a BraTS-layout folder with (a run folder only). */
  splitSeed?: number;
  /** The kind of data the run trained on (a run folder only): its intensity mapping is the model's. */
  dataKind?: DataKind;
}

/** --preset / --config describe weights that carry no configuration; for weights that do, they must agree. */
function withOverride(config: ModelConfig, override: ModelConfig | undefined, where: string): ModelConfig {
  if (!override || Object.keys(override).length === 0) return config;
  const was = resolveModelConfig(config);
  const now = resolveModelConfig({ ...config, ...override });
  const keys = configDifferences(was, now);
  if (keys.length > 0) {
    throw new HypersegError('INVALID_ARGUMENT', `${where} was trained with ${keys.map((k) => `${k} ${JSON.stringify(was[k])}`).join(', ')}; --preset/--config ask for ${keys.map((k) => `${k} ${JSON.stringify(now[k])}`).join(', ')}`, {
      suggestion: '--preset and --config describe weights that carry no configuration; drop them for these',
    });
  }
  return config;
}

/** A run folder (its final weights, else its latest checkpoint) or a weights file (config from its metadata or sidecar). */
export async function resolveModel(path: string, override?: ModelConfig): Promise<ModelSource> {
  const p = resolve(path);
  if (!existsSync(p)) throw new HypersegError('FILE_NOT_FOUND', `${p}: no such run folder or weights file`);
  if (statSync(p).isDirectory()) {
    const cfg = await readRunConfig(p);
    let weights = join(p, 'model.safetensors');
    let checkpointStep: number | undefined;
    if (!existsSync(weights)) {
      const st = await readRunState(p);
      if (!st) throw new HypersegError('FILE_NOT_FOUND', `${p}: the run has no weights yet (no model.safetensors, no checkpoint)`, { suggestion: 'train it first: hyperseg train --resume RUN' });
      weights = join(p, st.checkpoint);
      checkpointStep = st.step;
    }
    return { config: withOverride(cfg.model, override, p), weights, run: p, splitSeed: cfg.data.splitSeed ?? cfg.seed, dataKind: cfg.data.kind, ...(checkpointStep !== undefined ? { checkpointStep } : {}) };
  }
  let config: ModelConfig | undefined;
  const { metadata } = await readSafetensors(p);
  if (metadata.config) config = JSON.parse(metadata.config) as ModelConfig;
  else if (existsSync(`${p}.json`)) config = (await readJsonFile<{ config?: ModelConfig }>(`${p}.json`, 'the checkpoint sidecar')).config;
  if (!config && !override) {
    throw new HypersegError('INVALID_INPUT', `${p}: the weights carry no model configuration`, { suggestion: 'pass --preset or --config FILE describing the model' });
  }
  const merged = { ...(config ? withOverride(config, override, p) : override) } as ModelConfig & { min_scale?: number };
  delete merged.min_scale;
  return { config: merged, weights: p };
}

export interface SegmentOptions {
  model: string;
  modelOverride?: ModelConfig;
  input: string[];
  /** How image volumes are read (voxel limit, NaN/Inf); recorded in segment.json for evaluate --run. */
  read?: ImageRead;
  /**
   * How the images' intensities are mapped before the encoder (inputs.ts); default: as the model's
   * training data were (a run folder records their kind), else the inputs' own kind's.
   */
  intensity?: IntensityMapping;
  out: string;
  /** Cluster counts; default 2, 4, 8 and each volume's ground-truth k (3 for BraTS, a label file's number of values). */
  ks?: number[];
  p?: number;
  path?: InferencePath;
  split?: Split;
  backend?: BackendName;
  engine?: Engine;
  threads?: number;
  device?: string;
  workers?: string[];
  /** k-means seed. */
  seed?: number;
  /**
   * Seed of a BraTS-layout folder's train/val/test split: default the run's own (so that its test split is
   * the run's, not volumes it trained on), else `seed` for a weights file.
   */
  splitSeed?: number;
  /** Ctrl-C: checked between volumes, slabs and batches; stops with INTERRUPTED, OUT left as it was. */
  signal?: AbortSignal;
  /** OUT belongs to the caller (ablate, quickstart): replace whatever it holds (an older version's half-written folder included). */
  ownedOut?: boolean;
  /** k-means: voxels the centres are fitted on (0 = all), restarts. */
  fitSample?: number;
  nInit?: number;
  /** Cluster centres: Fréchet means (k-means, DESIGN's and the default) or medians (k-medians). */
  centroid?: Centroid;
  slabMB?: number;
  /** Write embeddings.npy (default true) and pictures (default true). */
  embeddings?: boolean;
  pictures?: boolean;
  /**
   * Return OUT's segmentation as it is when it was made from the same weights (by their SHA-256), the same
   * input files (none changed since), model configuration, k, p, path, split, reading, seed and k-means
   * settings, and holds the embeddings and pictures asked for; otherwise segment (the quickstart and
   * ablate set it: a re-run re-segmented every finished configuration, 10 minutes each for the paper preset).
   */
  reuse?: boolean;
  /** Use an already started backend with the model loaded. */
  backendInstance?: { backend: ComputeBackend; config: ResolvedConfig };
  onCase?: (done: number, total: number, id: string) => void;
  onLog?: (line: string) => void;
}

export interface CaseOutput {
  id: string;
  shape: readonly [number, number, number];
  files: string[];
  labels: Record<string, string>;
  embeddings?: string;
  montage?: string;
  disk?: string;
  embedSeconds: number;
  clusterSeconds: number;
  voxelsPerSecond: number;
  inertia: Record<string, number>;
  counts: Record<string, number[]>;
}

/** The segment.json format this hyperseg writes and reads (evaluate refuses another). */
export const SEGMENT_VERSION = 1;

export interface SegmentSummary {
  format: 'hyperseg-segmentation';
  version: typeof SEGMENT_VERSION;
  /** sha256: of the weights file (absent for a backend handed in, and in folders written before it was recorded). */
  model: { weights: string; run?: string; config: ResolvedConfig; sha256?: string };
  data: { inputs: string[]; kind: string; split: Split; intensity?: IntensityMapping; read?: ImageRead; splitSeed?: number };
  /** Every k clustered (a volume's own list is the keys of its `labels`). */
  ks: number[];
  p: number;
  path: InferencePath;
  backend: Record<string, unknown>;
  cases: CaseOutput[];
  /** Seconds of this run (volumes kept from an interrupted one took their time there: see `kept`). */
  seconds: number;
  /** Volumes taken from an interrupted segmentation with the same settings (absent when none). */
  kept?: string[];
  peakRssMB: number;
  workerPeakRssMB?: number;
  /** What decides the labels beyond the fields above (k-means seed and settings; the k asked for, null for the default list). */
  clustering?: { seed: number; fitSample: number; nInit: number; ks: number[] | null; centroid?: 'median' };
}

/** SHA-256 of a file, streamed (hex). */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * OUT's segment.json when it is what `want` would produce again (see SegmentOptions.reuse), else null.
 * A folder written before the weights' hash was recorded is never reused.
 */
async function reusableSegmentation(out: string, want: SegmentSummary, files: string[][], needs: { embeddings: boolean; pictures: boolean }): Promise<SegmentSummary | null> {
  const path = join(out, 'segment.json');
  if (!existsSync(path) || !want.model.sha256) return null;
  let was: SegmentSummary;
  try {
    was = await readJsonFile<SegmentSummary>(path, 'the earlier segmentation summary');
  } catch {
    return null; // unreadable: segment again (the folder is replaced whole)
  }
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (was.format !== want.format || was.version !== want.version || was.model?.sha256 !== want.model.sha256 || !same(was.model.config, want.model.config)) return null;
  if (!same(was.data?.inputs, want.data.inputs) || was.data.kind !== want.data.kind || was.data.split !== want.data.split || !same(was.data.read ?? {}, want.data.read ?? {}) || was.data.splitSeed !== want.data.splitSeed) return null;
  if (was.p !== want.p || was.path !== want.path || !same(was.clustering, want.clustering) || (want.clustering?.ks && !same(was.ks, want.ks))) return null;
  if (!Array.isArray(was.cases) || !same(was.cases.map((c) => c.files), files)) return null;
  if (was.cases.some((c) => (needs.embeddings && !c.embeddings) || (needs.pictures && !(c.montage && c.disk)))) return null;
  // an input rewritten since (a dataset regenerated in place) is segmented again
  const made = statSync(path).mtimeMs;
  if (files.some((fs) => fs.some((f) => !existsSync(f) || statSync(f).mtimeMs > made))) return null;
  return was;
}

/** What a finished volume's case.json holds: its record, and hashes of what it was made from and of what it wrote. */
interface KeptCase {
  key: string;
  entry: CaseOutput;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
}

const outputsOf = (e: CaseOutput): string[] => [...Object.values(e.labels), e.embeddings, e.montage, e.disk].filter((f): f is string => typeof f === 'string');

/** Hashes of a finished volume's inputs and outputs (`dir`: the folder its outputs' paths are relative to). */
async function keptRecord(key: string, entry: CaseOutput, dir: string): Promise<KeptCase> {
  const hashes = async (files: string[], base: string) => Object.fromEntries(await Promise.all(files.map(async (f) => [f, await sha256File(join(base, f))] as const)));
  return { key, entry, inputs: await hashes(entry.files, ''), outputs: await hashes(outputsOf(entry), dir) };
}

/**
 * A volume an interrupted or failed segmentation of OUT finished, kept beside it (`.OUT.resume/ID`), when it is
 * what this run would write: the same settings, weights and backend (the key), the same input bytes (SHA-256: an
 * older file copied over an input kept its mtime), and every output it lists present with the bytes it wrote.
 * Checked when its turn comes (another process may have changed the folder since the start); else null.
 */
async function keptCase(dir: string, key: string, ref: CaseRef): Promise<KeptCase | null> {
  try {
    const k = await readJsonFile<KeptCase>(join(dir, ref.id, 'case.json'), 'a finished volume\'s record');
    const e = k?.entry;
    if (k.key !== key || !isObject(e) || !isObject(e.labels) || JSON.stringify(e.files) !== JSON.stringify(ref.files) || !isObject(k.inputs) || !isObject(k.outputs)) return null;
    const now = await keptRecord(key, e as unknown as CaseOutput, dir);
    return JSON.stringify(now.inputs) === JSON.stringify(k.inputs) && JSON.stringify(now.outputs) === JSON.stringify(k.outputs) ? k : null;
  } catch {
    return null; // missing, damaged or changed: segmented again
  }
}

/** Peak resident memory of a process (Linux VmHWM), in MiB; null when unavailable. */
export async function peakRssOf(pid: number | undefined): Promise<number | null> {
  if (!pid) return null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Fits k-means on a subsample and labels every voxel. */
export function clusterEmbeddings(mu: Float32Array, d: number, k: number, cfg: ResolvedConfig, options: { fitSample?: number; nInit?: number; seed?: number; centroid?: Centroid } = {}) {
  const n = mu.length / d;
  const geometry = embeddingGeometry(cfg);
  const want = options.fitSample ?? 20_000;
  let fitX = mu;
  if (want > 0 && want < n) {
    const rng = new Rng(options.seed ?? 0, 0x5e9);
    fitX = new Float32Array(want * d);
    // a seeded sample without replacement (partial Fisher–Yates on indices)
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    for (let i = 0; i < want; i++) {
      const j = i + rng.int(n - i);
      const t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
      for (let a = 0; a < d; a++) fitX[i * d + a] = mu[idx[i] * d + a];
    }
  }
  const centroid = options.centroid ?? 'mean';
  const fit = kmeans(fitX, d, { k, geometry, centroid, c: cfg.curvature, seed: options.seed ?? 0, nInit: options.nInit ?? 5 });
  const all = fitX === mu ? { labels: fit.labels, inertia: fit.inertia, counts: fit.counts } : assignToCentroids(mu, d, fit.centroids, { k, geometry, centroid, c: cfg.curvature });
  return { labels: all.labels, inertia: all.inertia, counts: all.counts, centroids: fit.centroids };
}

/** Colours predictions like the truth they match best (for pictures only; scores use evaluate). */
function matchedForPicture(pred: Int32Array, c: LoadedCase, k: number): Int32Array {
  const t = c.targets.find((x) => x.k === k) ?? c.targets[c.targets.length - 1];
  if (!t) return Int32Array.from(pred, (v) => v + 1);
  const m = matchClusters(pred, t.labels, t.classes);
  const out = relabel(pred, m.mapping);
  // unmatched clusters (k > classes) get labels past the truth's
  const extra = Math.max(...t.classes) + 1;
  for (let i = 0; i < out.length; i++) if (out[i] < 0) out[i] = extra + pred[i];
  return out;
}

const DEFAULT_KS = [2, 4, 8];

const MAPPING_WORDS: Record<IntensityMapping, string> = {
  'as-is': 'as stored',
  'robust-unit': 'scaled to [0, 1] by their 0.5th and 99.5th percentiles',
  'brats-flair': 'normalised within the brain mask (FLAIR)',
};

/**
 * Segments `options.input` into `options.out`. OUT is locked for the call (data/lock.ts), as a training
 * locks its run: two segmentations into one folder shared its staging-side resume folder, and one could
 * remove the volumes the other had kept; the second is now refused, naming the first.
 */
export async function segment(options: SegmentOptions): Promise<SegmentSummary> {
  const t0 = performance.now();
  const out = resolve(options.out);
  const unlock = await lockFolder(out, 'a segmentation');
  try {
    return await segmentLocked(out, options, t0);
  } finally {
    await unlock();
  }
}

async function segmentLocked(out: string, options: SegmentOptions, t0: number): Promise<SegmentSummary> {
  const ks = options.ks ?? DEFAULT_KS;
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1 || k > 255)) throw new HypersegError('INVALID_ARGUMENT', `k must be integers in [1, 255], got ${ks.join(',')}`);
  const log = options.onLog ?? (() => undefined);
  // the model first: a run folder knows the seed its data was split with
  let model: ModelSource | null = null;
  if (!options.backendInstance) model = await resolveModel(options.model, options.modelOverride);
  const splitSeed = options.splitSeed ?? model?.splitSeed ?? options.seed ?? 0;
  const mapping = options.intensity ?? (model?.dataKind ? mappingOf(model.dataKind) : undefined);
  const source = await openData(options.input, splitSeed, options.read, mapping);
  const usual = mappingOf(source.kind);
  const intensity = mapping ?? usual;
  if (intensity !== usual) {
    log(options.intensity
      ? `intensities mapped ${MAPPING_WORDS[intensity]} (--intensity), not ${MAPPING_WORDS[usual]} as ${source.kind} inputs are by default`
      : `${model?.run}: trained on ${model?.dataKind} data, whose intensities it saw ${MAPPING_WORDS[intensity]}; these ${source.kind} inputs are mapped the same way, not ${MAPPING_WORDS[usual]} (--intensity chooses)`);
  }
  // plain files have no split, and only a BraTS folder's is drawn by seed: both flags were accepted and ignored
  // (and `--split test` recorded as the split of every volume given)
  if (source.kind === 'nifti' && options.split !== undefined && options.split !== 'all') {
    throw new HypersegError('INVALID_ARGUMENT', `--split ${options.split}: plain NIfTI files have no train/val/test split (a hyperseg synth or BraTS-layout folder has one); every file given is segmented`, { suggestion: 'drop --split, or name the files to segment' });
  }
  if (options.splitSeed !== undefined && source.kind !== 'brats') {
    throw new HypersegError('INVALID_ARGUMENT', `--split-seed draws the split of a BraTS-layout folder; ${source.kind === 'synth' ? 'a synth folder\'s split is in its manifest' : 'plain NIfTI files have none'}`, { suggestion: 'drop --split-seed' });
  }
  const split: Split = options.split ?? (source.kind === 'nifti' ? 'all' : 'test');
  const cases: CaseRef[] = casesOf(source, split);
  if (cases.length === 0) {
    const others = source.cases.length;
    throw new HypersegError('INVALID_INPUT', `no ${split} volumes in ${options.input.join(', ')}${others ? ` (it has ${others} in other splits)` : ''}`, {
      suggestion: others ? 'pass --split all (or train, val) to segment them' : undefined,
    });
  }
  if (!options.ownedOut) await checkSegmentationTarget(out);
  // every input before any work (a bad file late in a folder failed after the others were done; a header
  // check missed a truncated .nii.gz); one volume is read when its turn comes
  if (cases.length > 1) await checkCases(cases);
  else for (const f of cases[0].files) await readNiftiHeader(f, { maxVoxels: options.read?.maxVoxels });

  let cfg: ResolvedConfig;
  const owned = !options.backendInstance;
  if (options.backendInstance || !model) {
    cfg = options.backendInstance?.config as ResolvedConfig;
  } else {
    cfg = resolveModelConfig(model.config);
    if (model.checkpointStep !== undefined) log(`${model.run}: unfinished run; segmenting with its checkpoint of step ${model.checkpointStep}`);
  }
  // p = m/2 by default: the paper's p = 5 for m = 10, and the dense path's windows stay on its grid
  const p = options.p ?? defaultPatch(cfg);
  const path: InferencePath = options.path ?? (denseExact(cfg) ? 'dense' : 'per-patch');
  if (path === 'dense') checkDensePatch(cfg.m, p); // before a worker starts
  const summary: SegmentSummary = {
    format: 'hyperseg-segmentation', version: SEGMENT_VERSION,
    model: { weights: model?.weights ?? options.model, run: model?.run, config: cfg, ...(model ? { sha256: await sha256File(model.weights) } : {}) },
    data: { inputs: source.inputs, kind: source.kind, split, intensity, ...(options.read && Object.keys(options.read).length ? { read: options.read } : {}), ...(source.kind === 'brats' ? { splitSeed } : {}) },
    ks, p, path, backend: {}, cases: [], seconds: 0, peakRssMB: 0,
    clustering: { seed: options.seed ?? 0, fitSample: options.fitSample ?? 20_000, nInit: options.nInit ?? 5, ks: options.ks ?? null, ...(options.centroid === 'median' ? { centroid: 'median' as const } : {}) },
  };
  if (options.reuse) {
    const was = await reusableSegmentation(out, summary, cases.map((c) => c.files), { embeddings: options.embeddings ?? true, pictures: options.pictures ?? true });
    if (was) {
      log(`${out}: reusing the segmentation made from the same weights (sha256 ${summary.model.sha256?.slice(0, 12)}…), inputs and settings`);
      return was;
    }
  }
  const backend: ComputeBackend = options.backendInstance?.backend
    ?? (await createBackend(options.backend ?? 'torch', { engine: options.engine, threads: options.threads, device: options.device, workers: options.workers }));
  if (!options.path && path === 'per-patch') log(`the ${cfg.preset} encoder pads or strides: using the exact per-patch path (--path dense approximates it: about 2.5× faster, but about half its labels differ; see bench segment)`);
  // an interrupted run's finished volumes are taken up again (a Ctrl-C threw them away: hours for a BraTS folder)
  const resumeDir = join(dirname(out), `.${basename(out)}.resume`);
  const resumable = summary.model.sha256 !== undefined;
  // the k of every volume's labels, in one sorted list (a volume's truth adds its k to the default list)
  const addKs = (ks: number[]) => {
    for (const k of ks) if (!summary.ks.includes(k)) summary.ks = [...summary.ks, k].sort((a, b) => a - b);
  };
  try {
    if (owned && model) {
      await backend.init(model.config, 0);
      await backend.loadWeights(model.weights);
    }
    summary.backend = backend.info();
    const embedOpts: EmbedOptions = { p, path, slabMB: options.slabMB, signal: options.signal };
    // everything the labels and embeddings depend on: the backend and its threads change float sums
    const key = createHash('sha256').update(JSON.stringify({
      model: summary.model, data: summary.data, p, path, clustering: summary.clustering, embeddings: options.embeddings ?? true, pictures: options.pictures ?? true,
      backend: options.backendInstance ? null : { name: options.backend ?? 'torch', engine: options.engine ?? null, threads: options.threads ?? null, device: options.device ?? null, workers: options.workers ?? null },
    })).digest('hex');
    if (resumable && existsSync(resumeDir)) {
      const was = await readJsonFile<{ key?: unknown }>(join(resumeDir, 'resume.json'), 'the interrupted segmentation\'s record').catch(() => null);
      if (was?.key !== key) {
        log(`${resumeDir}: the volumes of an interrupted segmentation with other settings, weights or backend; removed`);
        await rm(resumeDir, { recursive: true, force: true });
      }
    }
    // Everything is written to a staging folder beside OUT and renamed into place at the end: a failure or
    // Ctrl-C leaves OUT as it was, and a re-run replaces an earlier segmentation whole (no stale files).
    await buildDirAtomically(out, async (stage) => {
      for (const [ci, ref] of cases.entries()) {
        if (options.signal?.aborted) throw new HypersegError('INTERRUPTED', 'segmentation stopped');
        // copied, not moved: the kept folder stays whole until this run succeeds (a kill -9 lost what was moved)
        const again = resumable && existsSync(resumeDir) ? await keptCase(resumeDir, key, ref) : null;
        if (again && (await cp(join(resumeDir, ref.id), join(stage, ref.id), { recursive: true }).then(() => true, () => false))) {
          addKs(Object.keys(again.entry.labels).map(Number));
          summary.cases.push(again.entry);
          summary.kept = [...(summary.kept ?? []), ref.id];
          options.onCase?.(ci + 1, cases.length, ref.id);
          log(`${ref.id}: kept from the interrupted segmentation`);
          continue;
        }
        const c = await ref.load();
        const dir = join(stage, c.id);
        await mkdir(dir, { recursive: true });
        if (c.unscored) log(`${c.id}: ${c.unscored}`);
        const v0 = c.image[0];
        if (c.image.every((v) => v === v0)) log(`${c.id}: the image is constant (${v0} everywhere after normalisation): its voxels' embeddings differ by float rounding at most, so its clusters mean nothing`);
        const emb = await embedVolume(backend, { data: c.image, shape: c.shape }, cfg, embedOpts);
        for (let i = 0; i < emb.mu.length; i++) {
          if (!Number.isFinite(emb.mu[i])) throw new HypersegError('NON_FINITE', `${c.id}: the encoder produced a non-finite embedding at voxel ${Math.floor(i / emb.d)}`);
        }
        const tc = performance.now();
        const entry: CaseOutput = {
          id: c.id, shape: c.shape, files: ref.files, labels: {}, embedSeconds: emb.seconds, clusterSeconds: 0,
          voxelsPerSecond: c.image.length / emb.seconds, inertia: {}, counts: {},
        };
        const preds = new Map<number, Int32Array>();
        // the truth's k joins the default list, so that every volume with truth can be scored
        const caseKs = options.ks ?? [...new Set([...DEFAULT_KS, ...c.targets.map((t) => t.k)])].sort((a, b) => a - b);
        addKs(caseKs);
        for (const k of caseKs) {
          let r: ReturnType<typeof clusterEmbeddings>;
          try {
            r = clusterEmbeddings(emb.mu, emb.d, k, cfg, { fitSample: options.fitSample, nInit: options.nInit, seed: options.seed, centroid: options.centroid });
          } catch (e) {
            // name the volume (k-means alone knows only its point count)
            throw within(`${ref.files[0]} (${c.shape.join('×')} voxels), k = ${k}`, e);
          }
          const used = r.counts.filter((x) => x > 0).length;
          if (used < k) log(`${c.id}: k = ${k} found only ${used} non-empty cluster(s): its voxels' embeddings take fewer than ${k} distinct values (a constant or nearly constant volume?)`);
          preds.set(k, r.labels);
          const file = `${c.id}/${c.id}_k${k}.nii.gz`;
          await writeNifti(join(stage, file), { shape: c.shape, ...gridOf(c.header), data: Uint8Array.from(r.labels) });
          entry.labels[String(k)] = file;
          entry.inertia[String(k)] = r.inertia;
          entry.counts[String(k)] = r.counts;
        }
        entry.clusterSeconds = (performance.now() - tc) / 1000;
        if (options.embeddings ?? true) {
          entry.embeddings = `${c.id}/embeddings.npy`;
          await writeNpy(join(stage, entry.embeddings), emb.mu, [c.image.length, emb.d]);
        }
        if (options.pictures ?? true) {
          const focus = c.targets.length ? c.targets[c.targets.length - 1].labels : null;
          const cols: MontageColumn[] = [{ title: 'image', labels: null }];
          for (const k of caseKs) cols.push({ title: `k = ${k}`, labels: matchedForPicture(preds.get(k) as Int32Array, c, k) });
          for (const t of c.targets) cols.push({ title: t.name, labels: t.labels });
          entry.montage = `${c.id}/montage.png`;
          await montage(c.image, c.shape, cols, pickSlices(c.shape, focus)).save(join(stage, entry.montage));
          const kMax = Math.max(...caseKs);
          const colourings: ArrayLike<number>[] = [matchedForPicture(preds.get(kMax) as Int32Array, c, kMax)];
          if (focus) colourings.push(focus);
          entry.disk = `${c.id}/disk.png`;
          await diskPlot(emb.mu, emb.d, colourings, { hyperbolic: cfg.hyperbolic, curvature: cfg.curvature }).save(join(stage, entry.disk));
        }
        summary.cases.push(entry);
        if (resumable) await writeFileAtomic(join(stage, c.id, 'case.json'), `${JSON.stringify(await keptRecord(key, entry, stage))}\n`); // this volume is finished
        options.onCase?.(ci + 1, cases.length, c.id);
        log(`${c.id}: ${c.shape.join('×')} embedded in ${emb.seconds.toFixed(2)} s (${path}${emb.slabs > 1 ? `, ${emb.slabs} slabs` : ''}), clustered in ${entry.clusterSeconds.toFixed(2)} s`);
      }
      summary.seconds = (performance.now() - t0) / 1000;
      summary.peakRssMB = process.resourceUsage().maxRSS / 1024;
      const pid = (backend as { pid?: number }).pid;
      const w = await peakRssOf(pid);
      if (w !== null) summary.workerPeakRssMB = w;
      // a Ctrl-C during the last volume: the folder stays as it was, as promised (it was replaced, exit 0)
      if (options.signal?.aborted) throw new HypersegError('INTERRUPTED', 'segmentation stopped');
      for (const e of summary.cases) await rm(join(stage, e.id, 'case.json'), { force: true });
      await writeFileAtomic(join(stage, 'segment.json'), `${JSON.stringify(summary, null, 1)}\n`);
    }, {
      // stopped or failed: the finished volumes go beside OUT, for the same command to continue from
      onFailure: async (stage) => {
        if (!resumable || summary.cases.length === 0) return;
        await writeFileAtomic(join(stage, 'resume.json'), `${JSON.stringify({ key })}\n`);
        await rm(resumeDir, { recursive: true, force: true });
        await rename(stage, resumeDir);
        log(`${summary.cases.length} finished volume(s) kept in ${resumeDir}: the same command continues from them`);
      },
    });
    await rm(resumeDir, { recursive: true, force: true });
    return summary;
  } catch (e) {
    if (e instanceof HypersegError && e.code === 'INTERRUPTED') {
      const keptNow = resumable && summary.cases.length > 0;
      throw new HypersegError('INTERRUPTED', `segmentation stopped after ${summary.cases.length} of ${cases.length} volumes; ${out} was left as it was${keptNow ? `, and the finished volumes kept beside it (${resumeDir})` : ''}`, {
        suggestion: keptNow ? 'run the same command again: it continues from the finished volumes' : 'run the same command again',
      });
    }
    throw e;
  } finally {
    if (owned) await backend.close();
  }
}

/**
 * OUT may be new, empty, or an earlier segmentation (it holds segment.json), which a run replaces; a file,
 * or a folder of something else, is refused rather than mixed with or deleted.
 */
async function checkSegmentationTarget(out: string): Promise<void> {
  const entries = await foreignFolderEntries(out, ['segment.json']);
  if (entries !== null) {
    throw new HypersegError('INVALID_ARGUMENT', `--out ${out} is a folder with other contents (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}), not an earlier segmentation`, {
      suggestion: 'choose a new or empty folder: a segmentation replaces its folder whole',
    });
  }
}
