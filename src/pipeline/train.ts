/**
 * The training loop, owned by TypeScript: batches from the multi-scale triplet sampler, the backend's
 * train step, metrics as JSONL, atomic checkpoints, exact resume.
 *
 * Run folder:
 *   RUN/config.json         everything the run depends on (data, model, sampler, seed, budget, backend)
 *   RUN/metrics.jsonl       one line per step: loss terms, step time
 *   RUN/checkpoints/step-NNNNNN.safetensors   model, Adam and noise-generator state (the last `keep`)
 *   RUN/state.json          the latest checkpoint, the sampler's generator state after it, the step
 *   RUN/model.safetensors   final weights: PyTorch's names, config in the metadata (both backends and
 *                           plain PyTorch's load_state_dict read it)
 *
 * Exact resume: the sampler's generator state is recorded before each batch is drawn, and the
 * checkpoint after step s pairs the backend's state after s with the sampler state before batch s+1;
 * resuming restores both, so steps s+1.. repeat an uninterrupted run bit for bit (tested). The next
 * batch is sampled while the backend computes the current step (two buffers in turn).
 */

import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createBackend, type BackendName, type ComputeBackend, type ModelConfig, type TorchBackend } from '../backends/index.js';
import type { Engine } from '../backends/tfjs/engine.js';
import { configDifferences, type ResolvedConfig, resolveModelConfig } from '../backends/config.js';
import { assertFolderTarget, writeFileAtomic } from '../data/atomic.js';
import { isObject, readJsonFile } from '../data/json.js';
import { lockFolder } from '../data/lock.js';
import { HypersegError, within } from '../errors.js';
import { Rng } from '../random.js';
import { type ResolvedTripletConfig, type TripletConfig, TripletSampler, allocateTripletBatch, jitterOn, resolveTripletConfig } from '../sampling/triplets.js';
import { readSafetensors } from '../weights/safetensors.js';
import type { TrainStepResult } from '../backends/types.js';
import { casesOf, type ImageRead, normaliseRead, openData, samplerFor, type DataKind } from './inputs.js';

export const RUN_VERSION = 1;

export interface RunConfig {
  format: 'hyperseg-run';
  version: number;
  data: { inputs: string[]; kind: DataKind; train: string[]; read?: ImageRead; splitSeed?: number };
  model: ModelConfig;
  sampler: TripletConfig;
  seed: number;
  steps: number;
  batch: number;
  checkpointEvery: number;
  keep: number;
  backend: BackendName;
  engine?: Engine;
  threads?: number;
  /** torch device (cpu, cuda, cuda:N). */
  device?: string;
}

export interface RunState {
  step: number;
  checkpoint: string;
  /** Sampler generator state before the batch of step `step + 1` is drawn. */
  sampler: number[];
  /** Training seconds so far (for rates across resumes). */
  seconds: number;
}

export interface TrainOptions {
  data?: string[];
  /** How image volumes are read (voxel limit, NaN/Inf); recorded in the run, kept on resume. */
  read?: ImageRead;
  /** Seed of a BraTS-layout folder's train/val/test split (default: `seed`); ablate keeps one split for all seeds. */
  splitSeed?: number;
  out: string;
  backend?: BackendName;
  engine?: Engine;
  /** Model configuration (preset and overrides). */
  model?: ModelConfig;
  seed?: number;
  steps?: number;
  batch?: number;
  checkpointEvery?: number;
  keep?: number;
  threads?: number;
  /** torch: device of locally started workers (cpu, cuda, cuda:N). */
  device?: string;
  /** torch: running workers to use (tcp://host:port, ipc://path) instead of starting one; not stored in the run. */
  workers?: string[];
  /** torch: local workers to start (default 1; ignored with `workers`). */
  localWorkers?: number;
  /**
   * torch: train data-parallel across the pool (≥ 2 workers; TorchBackend.enableDataParallel): each
   * worker takes a shard of every batch. Equal to one worker up to float summation order, so a run
   * resumed with another pool layout continues the same optimisation but not bit for bit.
   */
  dataParallel?: boolean;
  /** Continue the run in `out` from its last checkpoint (data, model and seed from its config.json). */
  resume?: boolean;
  /** Replace an existing run folder. */
  force?: boolean;
  /** Cap on training volumes held in memory (default: all). */
  maxVolumes?: number;
  /**
   * Triplet sampler overrides (anchor sizes rMin/rMax and their distribution, child sizes lMin/lMax,
   * rGap) over the defaults chosen for the data (DESIGN §2: r ∈ [5, 35), child ∈ [3, 15) for 50³), and
   * the intensity jitter (off by default; see sampling/triplets.ts).
   */
  sampler?: Pick<TripletConfig, 'rMin' | 'rMax' | 'scale' | 'lMin' | 'lMax' | 'rGap' | 'jitter'>;
  /** Stops cleanly (checkpoint, resumable) after the step in flight when aborted (Ctrl-C). */
  signal?: AbortSignal;
  /** Stop after this step as if interrupted (tests and budgeted runs). */
  stopAfter?: number;
  onStep?: (r: TrainStepResult, total: number) => void;
  onLog?: (line: string) => void;
  /** What the log says after a stop to continue (default: `hyperseg train --resume RUN`); null: nothing. */
  resumeHint?: string | null;
}

export interface TrainSummary {
  run: string;
  steps: number;
  completed: boolean;
  resumedFrom: number;
  /** Set when the run had already trained every step asked for: nothing was trained in this call. */
  alreadyComplete?: boolean;
  seconds: number;
  stepsPerSecond: number;
  last: TrainStepResult | null;
  /** Mean loss terms over the last 10 % of steps run in this call. */
  tail: Record<string, number>;
  backend: Record<string, unknown>;
  weights: string;
}

/** The newest checkpoint record format this hyperseg reads (python-env/hyperseg_worker/checkpoint.py writes 1). */
const CHECKPOINT_VERSION = 1;

const ckptName = (step: number) => `checkpoints/step-${String(step).padStart(6, '0')}.safetensors`;

const isCount = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;

/**
 * A run's config.json, checked field by field (a hand-edited or damaged file is named with what is wrong, as
 * bad data: exit 1, before any worker starts or anything in the run changes).
 */
export async function readRunConfig(run: string): Promise<RunConfig> {
  const path = join(run, 'config.json');
  const c = await readJsonFile<unknown>(path, 'the run configuration');
  const bad = (what: string) => new HypersegError('FILE_FORMAT', `${path}: ${what}`, { suggestion: 'restore the file from a backup, or start the run again with --force' });
  if (!isObject(c) || c.format !== 'hyperseg-run') throw new HypersegError('FILE_FORMAT', `${path} is not a hyperseg run configuration`);
  if (!isCount(c.version, 1)) throw bad(`version must be an integer ≥ 1, got ${JSON.stringify(c.version)}`);
  if (c.version > RUN_VERSION) throw new HypersegError('UNSUPPORTED', `${run}: run format version ${c.version} is newer than this hyperseg's ${RUN_VERSION}`);
  const d = c.data;
  if (!isObject(d) || !Array.isArray(d.inputs) || !d.inputs.every((x) => typeof x === 'string') || !Array.isArray(d.train) || !d.train.every((x) => typeof x === 'string')) {
    throw bad('data must hold the input paths and training volume ids (data.inputs, data.train: lists of strings)');
  }
  if (!isObject(c.model)) throw bad(`model must be an object, got ${JSON.stringify(c.model)}`);
  try {
    resolveModelConfig(c.model as ModelConfig);
  } catch (e) {
    throw e instanceof HypersegError ? bad(`model: ${e.message}`) : e;
  }
  if (!isObject(c.sampler)) throw bad(`sampler must be an object, got ${JSON.stringify(c.sampler)}`);
  for (const [k, min] of [['seed', 0], ['steps', 1], ['batch', 2], ['checkpointEvery', 1], ['keep', 1]] as const) {
    if (!isCount(c[k], min)) throw bad(`${k} must be an integer ≥ ${min}, got ${JSON.stringify(c[k])}`);
  }
  if (c.backend !== 'torch' && c.backend !== 'tfjs') throw bad(`backend must be torch or tfjs, got ${JSON.stringify(c.backend)}`);
  return c as unknown as RunConfig;
}

/**
 * A run's state.json (null when there is none: no checkpoint yet), checked field by field: a state that names
 * another checkpoint than its step's, a negative step or a broken generator state is refused by name rather
 * than resumed from (it was: `"step": -7` trained 12 steps and wrote checkpoints named step-0000-1).
 */
export async function readRunState(run: string): Promise<RunState | null> {
  const path = join(run, 'state.json');
  if (!existsSync(path)) return null;
  const st = await readJsonFile<unknown>(path, 'the run state');
  const bad = (what: string) => new HypersegError('FILE_FORMAT', `${path}: ${what}`, {
    suggestion: 'restore the file, or start the run again with --force (the checkpoints in checkpoints/ stay loadable with segment --model FILE)',
  });
  if (!isObject(st)) throw bad(`not a run state (expected {step, checkpoint, sampler, seconds}), got ${JSON.stringify(st)}`);
  if (!isCount(st.step, 1)) throw bad(`step must be an integer ≥ 1, got ${JSON.stringify(st.step)}`);
  if (st.checkpoint !== ckptName(st.step)) throw bad(`checkpoint must be ${ckptName(st.step)} (the one written at step ${st.step}), got ${JSON.stringify(st.checkpoint)}`);
  if (typeof st.seconds !== 'number' || !(st.seconds >= 0) || !Number.isFinite(st.seconds)) throw bad(`seconds must be a finite number ≥ 0, got ${JSON.stringify(st.seconds)}`);
  try {
    Rng.fromState(st.sampler as number[]);
  } catch (e) {
    throw e instanceof HypersegError ? bad(`sampler: ${e.message}`) : e;
  }
  return st as unknown as RunState;
}

/**
 * What a resume loads, checked before the run is changed in any way: the checkpoint that state.json names
 * exists and reads as safetensors (a truncated or overwritten file is named here, not by the worker), and its
 * own record (the torch sidecar, or the tfjs metadata) is a checkpoint of this format, of the same step, of the
 * model config.json describes (an edited config.json trained the checkpoint's model and wrote weights labelled
 * with the other).
 */
async function checkCheckpoint(run: string, cfg: RunConfig, state: RunState): Promise<void> {
  const file = join(run, state.checkpoint);
  if (!existsSync(file)) {
    throw new HypersegError('FILE_NOT_FOUND', `${join(run, 'state.json')} names ${state.checkpoint}, which is missing`, {
      suggestion: 'restore it, or start the run again with --force',
    });
  }
  const { metadata } = await readSafetensors(file);
  let record: unknown;
  let where: string;
  if (metadata.format === 'hyperseg-checkpoint') {
    where = `${file} (metadata)`;
    let config: unknown;
    try {
      config = JSON.parse(metadata.config ?? 'null');
    } catch {
      config = null;
    }
    record = { format: metadata.format, version: 1, step: Number(metadata.step), config };
  } else {
    where = `${file}.json`;
    if (!existsSync(where)) throw new HypersegError('FILE_NOT_FOUND', `${where} is missing: a torch checkpoint keeps its step, optimiser and model record there`, { suggestion: 'restore it, or start the run again with --force' });
    record = await readJsonFile<unknown>(where, 'the checkpoint record');
  }
  const bad = (what: string) => new HypersegError('FILE_FORMAT', `${where}: ${what}`, { suggestion: 'restore the run\'s files, or start it again with --force' });
  if (!isObject(record) || record.format !== 'hyperseg-checkpoint') throw bad('not a hyperseg checkpoint record');
  if (!isCount(record.version, 1)) throw bad(`version must be an integer ≥ 1, got ${JSON.stringify(record.version)}`);
  if (record.version > CHECKPOINT_VERSION) throw new HypersegError('UNSUPPORTED', `${where}: checkpoint format version ${record.version} is newer than this hyperseg's ${CHECKPOINT_VERSION}`);
  if (record.step !== state.step) throw bad(`the checkpoint is of step ${JSON.stringify(record.step)}, state.json says ${state.step}`);
  if (!isObject(record.config)) throw bad('no model configuration');
  let theirs: ResolvedConfig;
  try {
    theirs = resolveModelConfig(record.config as ModelConfig);
  } catch (e) {
    throw e instanceof HypersegError ? bad(`model: ${e.message}`) : e;
  }
  const ours = resolveModelConfig(cfg.model);
  const keys = configDifferences(ours, theirs);
  if (keys.length > 0) {
    throw new HypersegError('FILE_FORMAT', `${join(run, 'config.json')} and the checkpoint ${state.checkpoint} describe different models (${keys.map((k) => `${k}: ${JSON.stringify(ours[k])} against ${JSON.stringify(theirs[k])}`).join('; ')})`, {
      suggestion: 'restore config.json as training wrote it; a changed model needs a new run (--out)',
    });
  }
}

const LOSS_TERMS = ['loss', 'elbo', 'recon', 'kl', 'triplet'] as const;

/** The mean of each loss term over `rows` (zeros for none): a summary's `tail`. */
function meanTerms(rows: readonly Record<(typeof LOSS_TERMS)[number], number>[]): Record<string, number> {
  return Object.fromEntries(LOSS_TERMS.map((k) => [k, rows.reduce((s, r) => s + r[k], 0) / Math.max(1, rows.length)]));
}

/** Mean loss terms over the last 10 % of a run's `steps` logged steps (zeros when none are readable). */
async function metricsTail(path: string, steps: number): Promise<Record<string, number>> {
  if (!existsSync(path)) return meanTerms([]);
  const rows: Record<string, number>[] = [];
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    try {
      const r = JSON.parse(line) as Record<string, number>;
      if (r.step <= steps && LOSS_TERMS.every((k) => Number.isFinite(r[k]))) rows.push(r);
    } catch {
      // a blank or torn line
    }
  }
  return meanTerms(rows.slice(-Math.max(1, Math.ceil(steps / 10))));
}

/** Keeps the metrics of steps ≤ `step` (what the checkpoint covers); later lines belong to lost work. */
async function truncateMetrics(path: string, step: number): Promise<void> {
  if (!existsSync(path)) return;
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const kept = lines.filter((l) => {
    try {
      return (JSON.parse(l) as { step: number }).step <= step;
    } catch {
      return false; // a torn last line from a crash
    }
  });
  await writeFileAtomic(path, kept.length ? `${kept.join('\n')}\n` : '');
}

/**
 * Trains (or resumes) the run `options.out`. The run folder is locked for the call (data/lock.ts): a second
 * training into it while this one runs is refused, naming this process.
 */
export async function train(options: TrainOptions): Promise<TrainSummary> {
  const run = resolve(options.out);
  const unlock = await lockFolder(run, options.resume ? 'a resumed training' : 'a training');
  try {
    return await trainLocked(run, options);
  } finally {
    await unlock();
  }
}

async function trainLocked(run: string, options: TrainOptions): Promise<TrainSummary> {
  if (options.dataParallel) { // before anything is written
    const pool = options.workers?.length || (options.localWorkers ?? 1);
    if (pool < 2) throw new HypersegError('INVALID_ARGUMENT', `data-parallel training needs at least 2 workers, got ${pool}`, { suggestion: 'pass --local-workers N (N ≥ 2) or several --workers' });
  }
  let cfg: RunConfig;
  let state: RunState | null = null;
  let configChanged = false;
  if (options.resume) {
    cfg = await readRunConfig(run);
    state = await readRunState(run);
    // A resumed run keeps its data, model, seed and batch; what a caller passes must agree with them
    // (ablate and quickstart pass theirs on every re-run: a different dataset or preset must not reuse it).
    const differs = (what: string, was: unknown, now: unknown) => new HypersegError('INVALID_ARGUMENT', `${run} was trained with ${what} ${JSON.stringify(was)}, not ${JSON.stringify(now)}: a resumed run keeps its ${what}`, {
      suggestion: 'drop the option to continue the run as it was, or start a new run with another --out',
    });
    if (options.data?.length) {
      const now = options.data.map((p) => resolve(p));
      if (JSON.stringify(now) !== JSON.stringify(cfg.data.inputs)) throw differs('data', cfg.data.inputs, now);
    }
    if (options.model && Object.keys(options.model).length > 0) {
      const was = resolveModelConfig(cfg.model);
      const now = resolveModelConfig(options.model);
      const keys = configDifferences(was, now);
      if (keys.length > 0) throw differs(`model (${keys.join(', ')})`, Object.fromEntries(keys.map((k) => [k, was[k]])), Object.fromEntries(keys.map((k) => [k, now[k]])));
    }
    // sampler options given again are taken when they are the run's (ablate and quickstart pass theirs on every re-run)
    const sampler = resolveTripletConfig(cfg.sampler);
    for (const [k, v] of Object.entries(options.sampler ?? {}) as [keyof ResolvedTripletConfig, unknown][]) {
      if (v !== undefined && JSON.stringify(v) !== JSON.stringify(sampler[k])) throw differs(`sampler's ${k}`, sampler[k], v);
    }
    if (options.read && JSON.stringify(normaliseRead(options.read)) !== JSON.stringify(normaliseRead(cfg.data.read))) throw differs('image reading', normaliseRead(cfg.data.read), normaliseRead(options.read));
    if (options.seed !== undefined && options.seed !== cfg.seed) throw differs('seed', cfg.seed, options.seed);
    if (options.batch !== undefined && options.batch !== cfg.batch) throw differs('batch', cfg.batch, options.batch);
    // the optimiser state in its checkpoints is the backend's own
    if (options.backend !== undefined && options.backend !== cfg.backend) throw differs('backend', cfg.backend, options.backend);
    if (options.maxVolumes !== undefined) {
      throw new HypersegError('INVALID_ARGUMENT', `${run}: a resumed run trains on the ${cfg.data.train.length} volumes it recorded; --max-volumes chooses them for a new run`, { suggestion: 'drop --max-volumes' });
    }
    // how often to checkpoint and how many to keep do not change the result: taken, and kept for later resumes
    // (they were ignored); threads and the tfjs engine are this session's (not recorded)
    const every = options.checkpointEvery ?? cfg.checkpointEvery;
    const keep = options.keep ?? cfg.keep;
    if (!Number.isInteger(every) || every < 1 || !Number.isInteger(keep) || keep < 1) throw new HypersegError('INVALID_ARGUMENT', `checkpoint-every and keep must be integers ≥ 1, got ${every} and ${keep}`);
    const newSteps = options.steps !== undefined && options.steps !== cfg.steps ? options.steps : undefined;
    if (newSteps !== undefined) {
      if (!Number.isInteger(newSteps) || newSteps < 1) throw new HypersegError('INVALID_ARGUMENT', `steps must be an integer ≥ 1, got ${newSteps}`);
      if (state && newSteps < state.step) {
        throw new HypersegError('INVALID_ARGUMENT', `${run} has already trained ${state.step} steps; --steps ${newSteps} would not continue it`, {
          suggestion: `pass --steps above ${state.step} to extend it, or start a new run with another --out`,
        });
      }
    }
    if (state) await checkCheckpoint(run, cfg, state);
    // config.json is rewritten (and an extended run's final weights removed) only once the checkpoint has
    // loaded (after backend.load below): a resume refused by any check, here or by the backend, leaves the run as it was
    if (newSteps !== undefined || every !== cfg.checkpointEvery || keep !== cfg.keep) {
      cfg.checkpointEvery = every;
      cfg.keep = keep;
      if (newSteps !== undefined) cfg.steps = newSteps; // extending (or shortening an unfinished) run keeps everything else
      configChanged = true;
    }
    if (state && state.step >= cfg.steps && existsSync(join(run, 'model.safetensors'))) {
      // Already finished: nothing to load, no backend to start (ablate and quickstart re-runs land here). The
      // figures are the run's own, from its metrics (they were zeros, and a quickstart re-run wrote them over
      // the real ones in quickstart.json).
      if (configChanged) await writeFileAtomic(join(run, 'config.json'), `${JSON.stringify(cfg, null, 1)}\n`);
      const tail = await metricsTail(join(run, 'metrics.jsonl'), state.step);
      return {
        run, steps: state.step, completed: true, alreadyComplete: true, resumedFrom: state.step, seconds: state.seconds,
        stepsPerSecond: state.seconds > 0 ? state.step / state.seconds : 0, last: null, tail,
        backend: { backend: cfg.backend }, weights: join(run, 'model.safetensors'),
      };
    }
  } else {
    assertFolderTarget(run);
    if (existsSync(join(run, 'config.json')) && !options.force) {
      throw new HypersegError('INVALID_ARGUMENT', `${run} already holds a run`, { suggestion: 'continue it with --resume, choose another --out, or pass --force to start over' });
    }
    if (!options.data || options.data.length === 0) throw new HypersegError('INVALID_ARGUMENT', 'no training data', { suggestion: 'pass --data DIR or NIfTI files' });
    const steps = options.steps ?? 1000;
    const batch = options.batch ?? 32;
    if (!Number.isInteger(steps) || steps < 1) throw new HypersegError('INVALID_ARGUMENT', `steps must be an integer ≥ 1, got ${steps}`);
    if (!Number.isInteger(batch) || batch < 2) throw new HypersegError('INVALID_ARGUMENT', `batch must be an integer ≥ 2, got ${batch}`);
    const model = { ...(options.model ?? {}) };
    const resolved = resolveModelConfig(model); // validates before any work
    cfg = {
      format: 'hyperseg-run', version: RUN_VERSION,
      data: {
        inputs: options.data.map((p) => resolve(p)), kind: 'synth', train: [],
        ...(options.read && Object.keys(options.read).length ? { read: normaliseRead(options.read) } : {}),
        ...(options.splitSeed !== undefined ? { splitSeed: options.splitSeed } : {}),
      },
      model: { ...model, preset: resolved.preset },
      sampler: {}, seed: options.seed ?? 0, steps, batch,
      checkpointEvery: options.checkpointEvery ?? Math.max(1, Math.min(500, Math.ceil(steps / 4))),
      keep: options.keep ?? 2, backend: options.backend ?? 'torch', engine: options.engine, threads: options.threads, device: options.device,
    };
  }
  // refused before --force clears an old run or a new one is written
  if (options.dataParallel && cfg.backend !== 'torch') throw new HypersegError('INVALID_ARGUMENT', 'data-parallel training needs the torch backend');
  const log = options.onLog ?? (() => undefined);

  // Data: the training split, loaded once.
  const source = await openData(cfg.data.inputs, cfg.data.splitSeed ?? cfg.seed, cfg.data.read);
  let trainCases = casesOf(source, 'train');
  if (options.resume) {
    const want = new Set(cfg.data.train);
    trainCases = source.cases.filter((c) => want.has(c.id));
    if (trainCases.length !== cfg.data.train.length) {
      throw new HypersegError('INVALID_INPUT', `${run}: the training data changed since the run started (${trainCases.length} of ${cfg.data.train.length} volumes found)`);
    }
  } else if (options.maxVolumes !== undefined && trainCases.length > options.maxVolumes) {
    trainCases = trainCases.slice(0, options.maxVolumes);
  }
  if (trainCases.length === 0) throw new HypersegError('INVALID_INPUT', `no training volumes in ${cfg.data.inputs.join(', ')}`);
  const volumes = [];
  for (const c of trainCases) {
    const v = await c.load();
    volumes.push({ data: v.image, shape: v.shape });
  }
  if (!options.resume) {
    const s = samplerFor(source, volumes.map((v) => v.shape));
    const m = resolveModelConfig(cfg.model).m;
    const o = options.sampler ?? {};
    cfg.sampler = { m, rMin: o.rMin ?? s.rMin, rMax: o.rMax ?? s.rMax, lMax: o.lMax ?? s.lMax, scale: o.scale ?? s.scale };
    for (const k of ['lMin', 'rGap'] as const) if (o[k] !== undefined) cfg.sampler[k] = o[k];
    if (o.jitter && jitterOn(o.jitter)) cfg.sampler.jitter = o.jitter;
    const minSide = Math.min(...volumes.flatMap((v) => v.shape));
    const smallest = volumes.findIndex((v) => Math.min(...v.shape) === minSide);
    const rMin = cfg.sampler.rMin ?? 5;
    if (minSide < rMin + 2) {
      // the sampler's own message ("need rMin < rMax, got rMax = 0") named neither the file nor the reason
      throw new HypersegError('INVALID_INPUT', `${trainCases[smallest].files[0]} is ${volumes[smallest].shape.join('×')} voxels: too small to train on; multi-scale triplets need every side of every training volume to be at least ${rMin + 2} voxels (anchors from ${rMin} voxels, a negative beside each)`, {
        suggestion: 'leave volumes this small out of --data (they can still be segmented)',
      });
    }
    resolveTripletConfig(cfg.sampler); // names the bad value before anything is written
    if (cfg.sampler.rMax! > minSide - 1) throw new HypersegError('INVALID_ARGUMENT', `triplet sampler: rMax = ${cfg.sampler.rMax} must be below the smallest training volume's side (${minSide}: ${trainCases[smallest].files[0]}, ${volumes[smallest].shape.join('×')}), or no negative fits beside an anchor`);
    cfg.data = { ...cfg.data, kind: source.kind, train: trainCases.map((c) => c.id) };
  }
  log(`training on ${volumes.length} ${source.kind} volume(s), ${cfg.steps} steps of ${cfg.batch} triplets, backend ${cfg.backend}`);

  const rng = state ? Rng.fromState(state.sampler) : new Rng(cfg.seed, 0x7a1);
  const sampler = new TripletSampler(volumes, cfg.sampler, rng);
  const backend: ComputeBackend = await createBackend(cfg.backend, { engine: options.engine ?? cfg.engine, threads: options.threads ?? cfg.threads, device: options.device ?? cfg.device, workers: options.workers, localWorkers: options.localWorkers });
  const metricsPath = join(run, 'metrics.jsonl');
  const resumeHint = options.resumeHint === undefined ? `hyperseg train --resume ${run}` : options.resumeHint;
  const start = state?.step ?? 0;
  let seconds0 = state?.seconds ?? 0;
  let last: TrainStepResult | null = null;
  const recent: TrainStepResult[] = [];
  let stepsRun = 0;
  let completed = false;
  try {
    if (options.dataParallel) {
      const dp = await (backend as TorchBackend).enableDataParallel();
      log(`data-parallel over ${dp.world} workers (${dp.backend})`);
    }
    await backend.init(cfg.model, cfg.seed);
    if (state) {
      await backend.load(join(run, state.checkpoint));
      if (configChanged) await writeFileAtomic(join(run, 'config.json'), `${JSON.stringify(cfg, null, 1)}\n`);
      // an extended run's earlier final weights no longer are: until the extension finishes the run is
      // unfinished (segment then uses, and names, its latest checkpoint)
      if (cfg.steps > state.step) for (const f of ['model.safetensors', 'model.safetensors.json']) await rm(join(run, f), { force: true });
      await truncateMetrics(metricsPath, state.step);
      log(`resumed from step ${state.step} (${state.checkpoint})`);
    } else {
      if (cfg.backend === 'torch' && options.workers?.length) {
        // Workers reached by --workers write the checkpoints themselves, on their filesystem and only under their
        // --files-root: one that cannot was found at the first checkpoint, after steps/4 steps (up to 500) of training.
        try {
          await (backend as TorchBackend).probeCheckpoint(join(run, 'checkpoints', '.hyperseg-probe.safetensors'));
        } catch (e) {
          throw within(`the worker cannot write this run's checkpoints into ${join(run, 'checkpoints')} (it needs that folder on a filesystem it shares, under its --files-root)`, e);
        }
      }
      // the run folder appears (or, with --force, replaces the old run) once the model is built: a
      // configuration the backend refuses leaves the folder as it was
      if (options.force && !options.resume) {
        for (const f of ['config.json', 'state.json', 'metrics.jsonl', 'model.safetensors', 'model.safetensors.json', 'checkpoints']) await rm(join(run, f), { recursive: true, force: true });
      }
      await mkdir(join(run, 'checkpoints'), { recursive: true });
      await writeFileAtomic(join(run, 'config.json'), `${JSON.stringify(cfg, null, 1)}\n`);
      await writeFileAtomic(metricsPath, '');
    }
    let pendingLines: string[] = [];
    const flush = async () => {
      if (pendingLines.length) await appendFile(metricsPath, pendingLines.join(''));
      pendingLines = [];
    };
    let lastCheckpoint = state?.checkpoint ?? null;
    const kept = () => (lastCheckpoint ? `the last checkpoint, ${lastCheckpoint}, is kept` : 'no checkpoint was written yet');
    const checkpoint = async (step: number, samplerState: number[], seconds: number) => {
      await flush();
      const rel = ckptName(step);
      lastCheckpoint = rel;
      await backend.save(join(run, rel));
      const st: RunState = { step, checkpoint: rel, sampler: samplerState, seconds };
      await writeFileAtomic(join(run, 'state.json'), `${JSON.stringify(st)}\n`);
      const old = (await readdir(join(run, 'checkpoints'))).filter((f) => /^step-\d+\.safetensors$/.test(f)).sort();
      for (const f of old.slice(0, Math.max(0, old.length - cfg.keep))) {
        await rm(join(run, 'checkpoints', f), { force: true });
        await rm(join(run, 'checkpoints', `${f}.json`), { force: true });
      }
    };

    if (start >= cfg.steps) {
      completed = true;
    } else {
      const ring = [allocateTripletBatch(cfg.batch, sampler.config.m, true), allocateTripletBatch(cfg.batch, sampler.config.m, true)];
      sampler.fill(ring[0]);
      let pending = backend.trainStep(ring[0]);
      const t0 = performance.now();
      for (let step = start + 1; step <= cfg.steps; step++) {
        // Draw the next batch while this step computes; remember the generator state before it.
        const nextState = rng.state();
        if (step < cfg.steps) sampler.fill(ring[(step - start) % 2]); // the buffer not in flight
        const nonFinite = (what: string) => new HypersegError('NON_FINITE', `step ${step}: ${what}; ${kept()}`, {
          // a resume keeps the model and its configuration, and would reach the same step again
          suggestion: 'train a new run with a lower learning rate (--config \'{"lr": ...}\') or with "grad_clip" set (another --out, or --force)',
        });
        let r: TrainStepResult;
        try {
          r = await pending;
          // one turn of the event loop per step: an in-process backend (tfjs) computes inside promises, and
          // without it a Ctrl-C waited for the next checkpoint's file write (tens of seconds to minutes)
          await new Promise<void>((res) => setImmediate(res));
        } catch (e) {
          // the torch worker refuses the step itself (weights unchanged) and says which terms overflowed
          if (e instanceof HypersegError && e.code === 'NON_FINITE') throw nonFinite(e.message.replace(/^torch worker: train_step failed \[NON_FINITE\]: /, ''));
          if (e instanceof HypersegError && e.code === 'WORKER_DIED') {
            // the library's hint named TorchBackend.restart(); a run continues from its last checkpoint
            throw new HypersegError('WORKER_DIED', `step ${step}: ${e.message}\n${kept()}`, {
              cause: e, suggestion: resumeHint ? `continue with ${resumeHint}` : e.suggestion,
            });
          }
          throw e;
        }
        if (!LOSS_TERMS.every((k) => Number.isFinite(r[k]))) {
          throw nonFinite(`the loss is not finite (loss ${r.loss}, elbo ${r.elbo}, recon ${r.recon}, kl ${r.kl}, triplet ${r.triplet})`);
        }
        last = { ...r, step };
        stepsRun++;
        recent.push(last);
        if (recent.length > Math.max(1, Math.ceil((cfg.steps - start) / 10))) recent.shift();
        const elapsed = seconds0 + (performance.now() - t0) / 1000;
        pendingLines.push(`${JSON.stringify({ step, loss: r.loss, elbo: r.elbo, recon: r.recon, kl: r.kl, triplet: r.triplet, seconds: r.seconds, elapsed })}\n`);
        if (pendingLines.length >= 50) await flush();
        options.onStep?.(last, cfg.steps);
        const stop = options.signal?.aborted === true || options.stopAfter === step;
        if (step % cfg.checkpointEvery === 0 || step === cfg.steps || stop) await checkpoint(step, nextState, elapsed);
        if (stop) {
          log(`stopped after step ${step}${resumeHint ? `; continue with: ${resumeHint}` : ''}`);
          break;
        }
        if (step < cfg.steps) pending = backend.trainStep(ring[(step - start) % 2]);
      }
      seconds0 += (performance.now() - t0) / 1000;
      completed = last !== null && last.step === cfg.steps;
    }
    if (completed) {
      // The final weights alone (plain names, configuration in the metadata); checkpoints keep the full state.
      await backend.saveWeights(join(run, 'model.safetensors'));
    }
    const tail = meanTerms(recent);
    return {
      run, steps: last?.step ?? start, completed, resumedFrom: start, seconds: seconds0,
      stepsPerSecond: stepsRun / Math.max(1e-9, seconds0 - (state?.seconds ?? 0)), last, tail, backend: backend.info(), weights: join(run, 'model.safetensors'),
    };
  } finally {
    await backend.close();
  }
}
