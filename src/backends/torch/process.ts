/**
 * Starting a local PyTorch worker process (python -m hyperseg_worker.server) on an ipc:// endpoint,
 * with the Python environment that scripts/python-env.sh builds (or HYPERSEG_WORKER_PYTHON).
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HypersegError } from '../../errors.js';

/** The package root (the folder holding package.json, scripts/ and python-env/). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let cachedPython: string | null = null;

/**
 * PYTHONPATH for the worker: python-env first, then what `current` held (an interpreter whose packages
 * come through PYTHONPATH, as on a cluster's module system, keeps them); python-env is not added twice.
 */
export function workerPythonPath(current = process.env.PYTHONPATH): string {
  const own = join(PACKAGE_ROOT, 'python-env');
  if (!current) return own;
  return current.split(delimiter)[0] === own ? current : `${own}${delimiter}${current}`;
}

/** The Python executable for workers: HYPERSEG_WORKER_PYTHON, else the keyed environment (built on first use). */
export function workerPython(): string {
  if (process.env.HYPERSEG_WORKER_PYTHON) return process.env.HYPERSEG_WORKER_PYTHON;
  if (cachedPython) return cachedPython;
  try {
    cachedPython = execFileSync('bash', [join(PACKAGE_ROOT, 'scripts', 'python-env.sh'), 'path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  } catch (e) {
    throw new HypersegError('WORKER_DIED', `cannot prepare the Python environment for the torch worker (${(e as Error).message})`, {
      suggestion: 'run `bash scripts/python-env.sh path` to see what fails, or set HYPERSEG_WORKER_PYTHON',
    });
  }
  return cachedPython;
}

export interface WorkerProcess {
  child: ChildProcess;
  endpoint: string;
  /** The last lines the worker wrote to stderr (for error messages). */
  stderrTail: () => string;
  /** Resolves with the exit description when the process ends. */
  exited: Promise<string>;
}

export interface SpawnOptions {
  device?: string;
  threads?: number;
  python?: string;
  startTimeoutMs?: number;
}

/** Spawns a worker and waits for its READY line. */
export async function spawnWorker(options: SpawnOptions = {}): Promise<WorkerProcess> {
  const python = options.python ?? workerPython();
  const socketPath = join(tmpdir(), `hyperseg-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  const endpoint = `ipc://${socketPath}`;
  // --parent-pid: the worker exits when this process ends, even by SIGKILL or a crash (no orphans holding memory)
  const args = ['-m', 'hyperseg_worker.server', '--endpoint', endpoint, '--device', options.device ?? 'cpu', '--parent-pid', String(process.pid)];
  if (options.threads) args.push('--threads', String(options.threads));
  const child = spawn(python, args, {
    env: { ...process.env, PYTHONPATH: workerPythonPath() },
    stdio: ['ignore', 'pipe', 'pipe'],
    // its own process group: a terminal's Ctrl-C (SIGINT to the foreground group) or `timeout`'s SIGTERM
    // reaches Node alone, which finishes the step in flight, checkpoints through the worker, then closes
    // it; --parent-pid still ends the worker whenever Node ends
    detached: true,
  });
  const tail: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    tail.push(...s.split('\n').filter((l) => l.length > 0));
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  });
  const stderrTail = () => tail.slice(-12).join('\n');
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => {
      // A worker that exits normally removes its socket file; one killed (SIGKILL, out of memory) cannot
      rmSync(socketPath, { force: true });
      resolve(signal ? `killed by ${signal}` : `exited with code ${code}`);
    });
    child.on('error', (e) => resolve(`failed to start (${e.message})`));
  });
  const ready = new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => {
      buf += s;
      if (buf.includes(`READY ${endpoint}`)) resolve();
    });
    void exited.then((how) => reject(new HypersegError('WORKER_DIED', `torch worker ${how} before it was ready${tail.length ? `:\n${stderrTail()}` : ''}`, {
      suggestion: `check the Python environment (${python})`,
    })));
  });
  const timeout = options.startTimeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([ready, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HypersegError('TIMEOUT', `torch worker did not become ready within ${timeout / 1000} s`)), timeout);
    })]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return { child, endpoint, stderrTail, exited };
}
