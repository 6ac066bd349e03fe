/** Compute backends: the interface and the factory. Callers never import a backend directly. */

import { HypersegError } from '../errors.js';
import { TfjsBackend } from './tfjs/backend.js';
import type { Engine } from './tfjs/engine.js';
import { TorchBackend, type TorchBackendOptions } from './torch/backend.js';
import type { ComputeBackend } from './types.js';

export type BackendName = 'torch' | 'tfjs';

export interface BackendOptions extends TorchBackendOptions {
  /** TensorFlow.js engine to force (default: the first that loads). */
  engine?: Engine;
}

export async function createBackend(name: BackendName, options: BackendOptions = {}): Promise<ComputeBackend> {
  if (name === 'torch') return TorchBackend.start(options);
  if (name === 'tfjs') return TfjsBackend.start({ engine: options.engine });
  throw new HypersegError('INVALID_ARGUMENT', `unknown backend '${String(name)}'; expected torch or tfjs`);
}

export type { ComputeBackend, ModelConfig, TrainStepResult, Encoded, BackendInfo } from './types.js';
export { TorchBackend } from './torch/backend.js';
export { TfjsBackend } from './tfjs/backend.js';
export { runParity, type ParityResult, type ParityRow } from './parity.js';
