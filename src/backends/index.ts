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
  // the other backend's flags are refused, not ignored (tfjs trained on the CPU with --device cuda, exit 0)
  if (name === 'tfjs') {
    const torchOnly = [
      options.device !== undefined && options.device !== 'cpu' ? `--device ${options.device}` : null,
      options.workers?.length ? '--workers' : null,
      (options.localWorkers ?? 1) > 1 ? '--local-workers' : null,
    ].filter((x): x is string => x !== null);
    if (torchOnly.length > 0) {
      throw new HypersegError('INVALID_ARGUMENT', `${torchOnly.join(' and ')} ${torchOnly.length > 1 ? 'apply' : 'applies'} to the torch backend; the tfjs backend runs in this process`, {
        suggestion: 'drop it, or use --backend torch (tfjs picks its engine with --engine)',
      });
    }
  }
  if (name === 'torch' && options.engine !== undefined) {
    throw new HypersegError('INVALID_ARGUMENT', `--engine ${options.engine} chooses the tfjs backend's engine; the torch backend computes in its worker`, {
      suggestion: 'drop --engine, or use --backend tfjs (torch picks its device with --device)',
    });
  }
  if (name === 'torch') return TorchBackend.start(options);
  if (name === 'tfjs') return TfjsBackend.start({ engine: options.engine });
  throw new HypersegError('INVALID_ARGUMENT', `unknown backend '${String(name)}'; expected torch or tfjs`);
}

export type { ComputeBackend, ModelConfig, TrainStepResult, Encoded, BackendInfo } from './types.js';
export { TorchBackend } from './torch/backend.js';
export { TfjsBackend } from './tfjs/backend.js';
export { runParity, type ParityResult, type ParityRow } from './parity.js';
