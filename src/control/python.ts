/**
 * The control plane: low-volume calls into Python through pythonia (probing the environment,
 * converting checkpoints). Tensors never travel this way; they go over ZeroMQ + Arrow.
 * pythonia starts its Python process when first imported, so the environment (interpreter, module
 * path) is set just before the dynamic import, and the process is ended after each use.
 */

import { execFileSync } from 'node:child_process';
import { workerPython, workerPythonPath } from '../backends/torch/process.js';
import { HypersegError } from '../errors.js';

type PyModule = Record<string, (...args: unknown[]) => Promise<unknown>>;
type PythonFn = ((module: string) => Promise<PyModule>) & { exit: () => void };

/** Runs `fn` with pythonia's `python` bound to the worker's environment; always ends the Python process. */
export async function withPython<T>(fn: (python: PythonFn) => Promise<T>): Promise<T> {
  const bin = workerPython();
  // pythonia spawns it without an error handler: a missing or non-executable interpreter crashed Node with
  // an unhandled 'error' event and a stack trace
  try {
    execFileSync(bin, ['-c', 'import sys'], { stdio: 'ignore', timeout: 60_000 });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? `exit status ${(e as { status?: number }).status}`;
    throw new HypersegError('WORKER_DIED', `cannot run the Python interpreter ${bin} (${why})`, {
      suggestion: process.env.HYPERSEG_WORKER_PYTHON ? 'HYPERSEG_WORKER_PYTHON must name a Python 3 interpreter with the worker\'s packages; unset it to use scripts/python-env.sh' : 'run `bash scripts/python-env.sh path` to see what fails',
    });
  }
  process.env.PYTHON_BIN = bin;
  process.env.PYTHONPATH = workerPythonPath();
  const mod = (await import('pythonia')) as unknown as { python: PythonFn; default?: { python: PythonFn } };
  const python = mod.python ?? mod.default?.python;
  try {
    return await fn(python);
  } catch (e) {
    // pythonia puts the Python exception's text in `stack`, not `message`.
    const err = e as Error;
    const text = [err.message, err.stack].filter(Boolean).join('\n');
    const line = text.split('\n').reverse().find((l) => /Error:|Exception:/.test(l)) ?? err.message;
    throw new HypersegError('WORKER_ERROR', `python: ${line.trim()}`, { cause: e });
  } finally {
    python.exit();
  }
}

export interface PythonProbe {
  python: string;
  executable: string;
  numpy: string | null;
  torch: string | null;
  zmq: string | null;
  pyarrow: string | null;
  safetensors: string | null;
  cuda: string[];
  threads?: number;
  [key: string]: unknown;
}

export async function probePython(): Promise<PythonProbe> {
  return withPython(async (python) => {
    const ctl = await python('hyperseg_worker.control');
    return JSON.parse((await ctl.probe()) as string) as PythonProbe;
  });
}

export async function importCheckpoint(src: string, dst: string, config: Record<string, unknown>): Promise<{ tensors: number; parameters: number; preset: string; out: string }> {
  return withPython(async (python) => {
    const ctl = await python('hyperseg_worker.control');
    return JSON.parse((await ctl.import_checkpoint(src, dst, JSON.stringify(config))) as string);
  });
}
