/**
 * Model configuration: presets and defaults, the TypeScript twin of python-env/hyperseg_worker/
 * model.py (ModelConfig, PRESETS). A test checks that both resolve every preset identically.
 */

import { HypersegError } from '../errors.js';
import type { Geometry } from '../cluster/kmeans.js';
import type { ModelConfig } from './types.js';

export type ResolvedConfig = Required<ModelConfig> & { min_scale: number };

export const PRESETS: Record<string, Partial<ModelConfig>> = {
  // lr_warmup: see model.py's PRESETS (dead encoders after an early spike without it)
  paper: { enc_channels: [16, 32, 64, 128], kernel: 5, padding: 2, strides: [1, 2, 1, 2], lr_warmup: 100 },
  valid: { enc_channels: [16, 32, 64, 128], kernel: 3, padding: 0, strides: [1, 1, 1, 1] },
  small: { enc_channels: [8, 16, 16, 32], kernel: 3, padding: 0, strides: [1, 1, 1, 1] },
};

const DEFAULTS: ResolvedConfig = {
  preset: 'small', m: 10, latent_dim: 2, curvature: 1, hyperbolic: true, gyroconv: true, triplet: true,
  enc_channels: [8, 16, 16, 32], kernel: 3, padding: 0, strides: [1, 1, 1, 1], samples: 1, beta: 1e3, alpha: 0.2,
  squared_triplet: false, lr: 1e-3, grad_clip: null, min_scale: 1e-3, autoencoder: false, iwae: false,
  kl_warmup: 0, free_bits: 0, lr_warmup: 0, leaky_slope: 0,
};

/** The keys on which two resolved configurations differ (none: the same model). */
export function configDifferences(a: ResolvedConfig, b: ResolvedConfig): (keyof ResolvedConfig)[] {
  return (Object.keys(a) as (keyof ResolvedConfig)[]).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

export function featureSizes(c: ResolvedConfig): number[] {
  const sizes = [c.m];
  for (const s of c.strides) sizes.push(Math.floor((sizes[sizes.length - 1] + 2 * c.padding - c.kernel) / s) + 1);
  return sizes;
}

/** The k-means geometry of a model's embeddings: the Poincaré ball for hyperbolic models. */
export function embeddingGeometry(c: { hyperbolic?: boolean }): Geometry {
  return c.hyperbolic ? 'poincare' : 'euclidean';
}

/**
 * Multiply-adds of the encoder (convolutions and the linear head to mu) for one patch: the cost of
 * per-patch inference per voxel. The scale head is left out, as the dense path computes mu only.
 */
export function patchMacs(c: ResolvedConfig): number {
  const sizes = featureSizes(c);
  const k3 = c.kernel ** 3;
  let macs = 0;
  let cin = 1;
  c.enc_channels.forEach((cout, i) => {
    macs += sizes[i + 1] ** 3 * cin * cout * k3;
    cin = cout;
  });
  return macs + sizes[sizes.length - 1] ** 3 * cin * c.latent_dim;
}

/**
 * Multiply-adds per voxel of the dense path for an n³ volume with inference patch p: the volume is
 * resampled to (n − 1)·m/p + m samples a side (every voxel's window), every layer is evaluated at
 * every sample it can be (stride-1 layers, later kernels dilated by the strides before them), and
 * the head once per voxel. Its ratio to patchMacs bounds the dense path's speed-up over a batched
 * per-patch path that runs at the same multiply-add rate.
 */
export function denseMacsPerVoxel(c: ResolvedConfig, n: number, p: number): number {
  const k3 = c.kernel ** 3;
  let len = ((n - 1) * c.m) / p + c.m;
  let dil = 1;
  let macs = 0;
  let cin = 1;
  c.enc_channels.forEach((cout, i) => {
    len = len + 2 * c.padding * dil - (c.kernel - 1) * dil;
    macs += len ** 3 * cin * cout * k3;
    dil *= c.strides[i];
    cin = cout;
  });
  const s = featureSizes(c)[c.enc_channels.length];
  return macs / n ** 3 + s ** 3 * cin * c.latent_dim;
}

/** What each value must be: a JSON typo fails here, naming the key, not later inside a worker. */
const INTEGER_AT_LEAST: Partial<Record<keyof ResolvedConfig, number>> = { m: 2, latent_dim: 1, kernel: 1, padding: 0, samples: 1, kl_warmup: 0, lr_warmup: 0 };
const POSITIVE: (keyof ResolvedConfig)[] = ['curvature', 'lr', 'min_scale'];
const NON_NEGATIVE: (keyof ResolvedConfig)[] = ['beta', 'alpha', 'free_bits', 'leaky_slope'];

/** Largest sizes a configuration may ask for (the same in python-env/hyperseg_worker/model.py: MAX_SIZES). */
const MAX_SIZES: Partial<Record<keyof ResolvedConfig, number>> = { m: 128, latent_dim: 1024, kernel: 15, padding: 16, samples: 256, enc_channels: 4096, strides: 8 };

function checkTypes(config: ModelConfig): void {
  const bad = (key: string, want: string, value: unknown) => new HypersegError('INVALID_ARGUMENT', `model config: ${key} must be ${want}, got ${JSON.stringify(value)}`);
  for (const [key, value] of Object.entries(config) as [keyof ResolvedConfig, unknown][]) {
    if (value === undefined || key === 'preset') continue;
    const def = DEFAULTS[key];
    if (key in INTEGER_AT_LEAST) {
      const min = INTEGER_AT_LEAST[key] as number;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw bad(key, `an integer ≥ ${min}`, value);
    } else if (POSITIVE.includes(key)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw bad(key, 'a finite number > 0', value);
    } else if (NON_NEGATIVE.includes(key)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw bad(key, 'a finite number ≥ 0', value);
    } else if (key === 'grad_clip') {
      if (value !== null && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) throw bad(key, 'null or a finite number ≥ 0 (0 or null: no clipping)', value);
    } else if (Array.isArray(def)) {
      if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1)) throw bad(key, 'a non-empty list of integers ≥ 1', value);
    } else if (typeof def === 'boolean') {
      if (typeof value !== 'boolean') throw bad(key, 'true or false', value);
    }
    const most = MAX_SIZES[key];
    if (most !== undefined && (Array.isArray(value) ? value : [value]).some((v) => (v as number) > most)) {
      throw bad(key, Array.isArray(value) ? `a list of integers ≤ ${most}` : `an integer ≤ ${most}`, value);
    }
    if (key === 'enc_channels' && Array.isArray(value) && value.length > 16) throw bad(key, 'a list of at most 16 layers', value);
  }
}

export function resolveModelConfig(config: ModelConfig = {}): ResolvedConfig {
  const preset = config.preset ?? 'small';
  if (!(preset in PRESETS)) throw new HypersegError('INVALID_ARGUMENT', `unknown preset '${preset}'; expected one of ${Object.keys(PRESETS).join(', ')}`);
  const unknown = Object.keys(config).filter((k) => !(k in DEFAULTS));
  if (unknown.length) throw new HypersegError('INVALID_ARGUMENT', `unknown model config keys: ${unknown.sort().join(', ')}`);
  checkTypes(config);
  const c = { ...DEFAULTS, ...PRESETS[preset], ...config, preset } as ResolvedConfig;
  if (c.enc_channels.length !== c.strides.length) throw new HypersegError('INVALID_ARGUMENT', `enc_channels (${c.enc_channels.length}) and strides (${c.strides.length}) must have the same length`);
  if (c.gyroconv && !c.hyperbolic) throw new HypersegError('INVALID_ARGUMENT', 'gyroconv needs a hyperbolic latent space');
  if (c.iwae && c.autoencoder) throw new HypersegError('INVALID_ARGUMENT', 'the IWAE bound needs a sampled posterior; an autoencoder has none');
  if (c.autoencoder && (c.kl_warmup || c.free_bits)) throw new HypersegError('INVALID_ARGUMENT', 'kl_warmup and free_bits act on the KL term; an autoencoder has none');
  if (!(c.leaky_slope < 1)) throw new HypersegError('INVALID_ARGUMENT', `model config: leaky_slope must be in [0, 1), got ${c.leaky_slope}`);
  if (c.iwae && c.free_bits) throw new HypersegError('INVALID_ARGUMENT', "free_bits applies to the ELBO's KL term; the IWAE bound has no separate one");
  const sizes = featureSizes(c);
  if (sizes[sizes.length - 1] < 1) throw new HypersegError('INVALID_ARGUMENT', `the encoder shrinks an input of ${c.m} to nothing: sizes ${sizes.join(', ')}`);
  return c;
}

/** The KL term's weight in the loss at the step that follows `step` steps: min(1, step / kl_warmup). */
export function klWeight(c: { kl_warmup?: number }, step: number): number {
  return c.kl_warmup ? Math.min(1, step / c.kl_warmup) : 1;
}

/** Adam's learning rate at the step that follows `step` steps: lr·min(1, (step + 1) / lr_warmup). */
export function lrAt(c: { lr: number; lr_warmup?: number }, step: number): number {
  return c.lr_warmup ? c.lr * Math.min(1, (step + 1) / c.lr_warmup) : c.lr;
}
