/**
 * Model configuration: presets and defaults, the TypeScript twin of python-env/hyperseg_worker/
 * model.py (ModelConfig, PRESETS). A test checks that both resolve every preset identically.
 */

import { HypersegError } from '../errors.js';
import type { ModelConfig } from './types.js';

export type ResolvedConfig = Required<ModelConfig> & { min_scale: number };

export const PRESETS: Record<string, Partial<ModelConfig>> = {
  paper: { enc_channels: [16, 32, 64, 128], kernel: 5, padding: 2, strides: [1, 2, 1, 2] },
  valid: { enc_channels: [16, 32, 64, 128], kernel: 3, padding: 0, strides: [1, 1, 1, 1] },
  small: { enc_channels: [8, 16, 16, 32], kernel: 3, padding: 0, strides: [1, 1, 1, 1] },
};

const DEFAULTS: ResolvedConfig = {
  preset: 'small', m: 10, latent_dim: 2, curvature: 1, hyperbolic: true, gyroconv: true, triplet: true,
  enc_channels: [8, 16, 16, 32], kernel: 3, padding: 0, strides: [1, 1, 1, 1], samples: 1, beta: 1e3, alpha: 0.2,
  squared_triplet: false, lr: 1e-3, grad_clip: null, min_scale: 1e-3, autoencoder: false,
};

export function featureSizes(c: ResolvedConfig): number[] {
  const sizes = [c.m];
  for (const s of c.strides) sizes.push(Math.floor((sizes[sizes.length - 1] + 2 * c.padding - c.kernel) / s) + 1);
  return sizes;
}

export function resolveModelConfig(config: ModelConfig = {}): ResolvedConfig {
  const preset = config.preset ?? 'small';
  if (!(preset in PRESETS)) throw new HypersegError('INVALID_ARGUMENT', `unknown preset '${preset}'; expected one of ${Object.keys(PRESETS).join(', ')}`);
  const unknown = Object.keys(config).filter((k) => !(k in DEFAULTS));
  if (unknown.length) throw new HypersegError('INVALID_ARGUMENT', `unknown model config keys: ${unknown.sort().join(', ')}`);
  const c = { ...DEFAULTS, ...PRESETS[preset], ...config, preset } as ResolvedConfig;
  if (c.enc_channels.length !== c.strides.length) throw new HypersegError('INVALID_ARGUMENT', `enc_channels (${c.enc_channels.length}) and strides (${c.strides.length}) must have the same length`);
  if (c.gyroconv && !c.hyperbolic) throw new HypersegError('INVALID_ARGUMENT', 'gyroconv needs a hyperbolic latent space');
  const sizes = featureSizes(c);
  if (sizes[sizes.length - 1] < 1) throw new HypersegError('INVALID_ARGUMENT', `the encoder shrinks an input of ${c.m} to nothing: sizes ${sizes.join(', ')}`);
  return c;
}
