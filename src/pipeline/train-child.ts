/**
 * One training run in a process of its own (started by trainConcurrently, concurrent.ts): argv[2] is
 * train()'s options as JSON. Log lines go to stderr; SIGINT or SIGTERM stops the run after its step
 * in flight with a resumable checkpoint (exit 130); an error ends stderr with CHILD_ERROR_MARK and the
 * error's code, message and suggestion as JSON (exit 1).
 */

import { HypersegError } from '../errors.js';
import { CHILD_ERROR_MARK, type ChildTrainOptions } from './concurrent.js';
import { train } from './train.js';

const stop = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => stop.abort());
try {
  const options = JSON.parse(process.argv[2] ?? '') as ChildTrainOptions;
  let shown = 0;
  const r = await train({
    ...options,
    signal: stop.signal,
    onLog: (line) => process.stderr.write(`${line}\n`),
    // a line every tenth of the budget: the parent's log shows each run's progress without a bar per run
    onStep: ({ step }, total) => {
      if (step >= shown + Math.max(1, Math.floor(total / 10)) || step === total) {
        shown = step;
        process.stderr.write(`step ${step} of ${total}\n`);
      }
    },
  });
  if (!r.completed) {
    process.stderr.write(`stopped at step ${r.steps}; the run can be resumed\n`);
    process.exitCode = 130;
  }
} catch (e) {
  const err = e instanceof HypersegError ? e : new HypersegError('WORKER_ERROR', e instanceof Error ? e.message : String(e));
  process.stderr.write(`${CHILD_ERROR_MARK}${JSON.stringify({ code: err.code, message: err.message, suggestion: err.suggestion })}\n`);
  process.exitCode = 1;
}
// nothing the run opened may keep this process alive once it is done
process.exit(process.exitCode ?? 0);
