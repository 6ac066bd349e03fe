/** Compute backends: the interface and the factory. Callers never import a backend directly. */

import { HypersegError } from '../errors.js';
import { TorchBackend, type TorchBackendOptions } from './torch/backend.js';
import type { ComputeBackend } from './types.js';

export type BackendName = 'torch' | 'tfjs';

export async function createBackend(name: BackendName, options: TorchBackendOptions = {}): Promise<ComputeBackend> {
  if (name === 'torch') return TorchBackend.start(options);
  throw new HypersegError('UNSUPPORTED', `backend '${name}' is not available yet (the TensorFlow.js backend is planned)`, { suggestion: 'use --backend torch' });
}

export type { ComputeBackend, ModelConfig, TrainStepResult, Encoded, BackendInfo } from './types.js';
export { TorchBackend } from './torch/backend.js';
