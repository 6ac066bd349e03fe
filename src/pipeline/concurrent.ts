/**
 * Training several runs at once, each in its own Node process with its own worker (ablate
 * --concurrent). One run's step is latency-bound on a GPU (the TypeScript sampler, the round trip,
 * small kernels), so runs side by side share the card almost for free: on one H100, eight
 * paper-preset runs at once each kept 11.8 steps/s. Each child is `node dist/pipeline/train-child.js`
 * calling train() with the very options the sequential path passes, so a run trained here is the run
 * ablate would have trained (same seed, same sampler stream) and ablate's own loop then finds it done.
 */

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PACKAGE_ROOT } from '../backends/torch/process.js';
import { type ErrorCode, HypersegError } from '../errors.js';
import type { TrainOptions } from './train.js';

/** What a child receives: train()'s options less the callbacks and the signal (JSON). */
export type ChildTrainOptions = Omit<TrainOptions, 'signal' | 'onLog' | 'onStep'>;

/** The line a failing child ends its stderr with: the error's code, message and suggestion as JSON. */
export const CHILD_ERROR_MARK = 'HYPERSEG_CHILD_ERROR ';

export interface ConcurrentJob {
  /** How the run is named in the log (e.g. "hyperbolic base, seed 1"). */
  name: string;
  options: ChildTrainOptions;
}

/**
 * Runs the tasks, at most `limit` at once; every task started runs to its end, none starts once one has
 * failed (or `stopped()` says so), and the first failure is thrown once the others have settled.
 */
export async function atMost(limit: number, tasks: (() => Promise<void>)[], stopped: () => boolean = () => false): Promise<void> {
  const queue = [...tasks];
  let failure: unknown;
  let failed = false;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, queue.length)) }, async () => {
    for (let t = queue.shift(); t && !failed && !stopped(); t = queue.shift()) {
      try {
        await t();
      } catch (e) {
        if (!failed) [failed, failure] = [true, e];
      }
    }
  });
  await Promise.all(lanes);
  if (failed) throw failure;
}

/**
 * Trains every job, at most `limit` at once. Resolves when all have finished; on the first failure
 * (or when `signal` aborts) the others are sent SIGINT, which stops each after its step in flight with
 * a resumable checkpoint, and the first error is thrown once all have exited, named by its job.
 */
export async function trainConcurrently(jobs: ConcurrentJob[], limit: number, options: { signal?: AbortSignal; onLog?: (line: string) => void } = {}): Promise<void> {
  const entry = join(PACKAGE_ROOT, 'dist', 'pipeline', 'train-child.js');
  if (!existsSync(entry)) throw new HypersegError('FILE_NOT_FOUND', `${entry} is missing: training runs at once needs the built package`, { suggestion: 'run `npx tsc -p tsconfig.json` (or bash scripts/setup.sh --build)' });
  const log = options.onLog ?? (() => undefined);
  const running = new Set<ReturnType<typeof spawn>>();
  let failure: HypersegError | undefined;
  const stopAll = () => {
    for (const c of running) c.kill('SIGINT');
  };
  const onAbort = () => {
    if (!failure) failure = new HypersegError('INTERRUPTED', 'stopped: the runs in flight checkpointed after their current step', { suggestion: 're-run the same ablate command to continue (finished configurations are reused)' });
    stopAll();
  };
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) onAbort(); // stopped before it began: start nothing
  const runOne = (job: ConcurrentJob) => new Promise<void>((resolveJob) => {
    // the child's own process group: a terminal's Ctrl-C reaches this process alone, which passes SIGINT on once
    const child = spawn(process.execPath, [entry, JSON.stringify(job.options)], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    running.add(child);
    let reported: { code?: string; message?: string; suggestion?: string } | undefined;
    const tail: string[] = [];
    // whole lines, the last one too (with or without its newline); 'close' comes after the stream's end
    if (child.stderr) createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
      if (line.startsWith(CHILD_ERROR_MARK)) {
        try {
          reported = JSON.parse(line.slice(CHILD_ERROR_MARK.length));
        } catch {
          reported = { message: line };
        }
      } else if (line.length > 0) {
        tail.push(line);
        if (tail.length > 12) tail.shift();
        log(`[${job.name}] ${line}`);
      }
    });
    child.on('error', (e) => {
      // a process that could not start may emit no 'close': the job ends here
      running.delete(child);
      if (!failure) {
        failure = new HypersegError('WORKER_DIED', `${job.name}: cannot start a training process (${e.message})`);
        stopAll();
      }
      resolveJob();
    });
    child.on('close', (code, sig) => {
      running.delete(child);
      if (code !== 0 && !failure) {
        const what = reported?.message ?? `the training process ${sig ? `was killed by ${sig}` : `exited with code ${code}`}${tail.length ? `; its last lines:\n${tail.join('\n')}` : ''}`;
        failure = new HypersegError((reported?.code as ErrorCode | undefined) ?? 'WORKER_DIED', `${job.name}: ${what}`, reported?.suggestion ? { suggestion: reported.suggestion } : {});
        stopAll();
      }
      resolveJob();
    });
  });
  try {
    await atMost(limit, jobs.map((job) => () => runOne(job)), () => failure !== undefined);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure;
}
