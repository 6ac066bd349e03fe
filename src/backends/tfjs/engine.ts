/**
 * TensorFlow.js engine selection: tfjs-node-gpu, then tfjs-node (native; optional installs that
 * download a library and fail without network), then the wasm engine, then the plain cpu engine.
 * A user can force one (`engine`); the chosen engine is reported.
 */

import * as tf from '@tensorflow/tfjs';
import { HypersegError } from '../../errors.js';

export type Engine = 'node-gpu' | 'node' | 'wasm' | 'cpu';
export const ENGINE_ORDER: Engine[] = ['node-gpu', 'node', 'wasm', 'cpu'];

let current: Engine | null = null;

async function tryEngine(e: Engine): Promise<boolean> {
  try {
    if (e === 'node-gpu') {
      await import('@tensorflow/tfjs-node-gpu' as string);
      return await tf.setBackend('tensorflow');
    }
    if (e === 'node') {
      // TensorFlow's C library logs CPU-feature notices on load; keep warnings and errors only
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      await import('@tensorflow/tfjs-node' as string);
      return await tf.setBackend('tensorflow');
    }
    if (e === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
      return await tf.setBackend('wasm');
    }
    return await tf.setBackend('cpu');
  } catch {
    return false;
  }
}

/** Selects (once) and returns the engine: `force` if given (error if unavailable), else the first that loads. */
export async function selectEngine(force?: Engine): Promise<Engine> {
  if (force) {
    if (current === force) return current;
    if (!(await tryEngine(force))) {
      throw new HypersegError('UNSUPPORTED', `TensorFlow.js engine '${force}' is not available here`, {
        suggestion: force.startsWith('node') ? 'install the native engine with `bash scripts/tfjs-native.sh` (builds @tensorflow/tfjs-node against the tensorflow-cpu wheel from PyPI; its own install downloads libtensorflow, which fails without network)' : undefined,
      });
    }
    await tf.ready();
    current = force;
    return force;
  }
  if (current) return current;
  for (const e of ENGINE_ORDER) {
    if (await tryEngine(e)) {
      await tf.ready();
      current = e;
      return e;
    }
  }
  throw new HypersegError('UNSUPPORTED', 'no TensorFlow.js engine could be loaded');
}

/** The engines whose packages are installed (for `hyperseg doctor`). */
export async function availableEngines(): Promise<Engine[]> {
  const out: Engine[] = [];
  for (const [e, mod] of [['node-gpu', '@tensorflow/tfjs-node-gpu'], ['node', '@tensorflow/tfjs-node'], ['wasm', '@tensorflow/tfjs-backend-wasm']] as const) {
    try {
      await import(mod as string);
      out.push(e);
    } catch {
      // not installed
    }
  }
  out.push('cpu');
  return out;
}
