/**
 * Imported first by main.ts, before the program loads (about a second of imports): a Ctrl-C or
 * SIGTERM that arrives before a command installs its own handler (`interruptible` in run.ts), or during a
 * command that has none (synth, evaluate, cluster, bench), ends the process with a message and exit code
 * 130 rather than Node's silent death by signal. `process.exit` runs the 'exit' listeners, so staging
 * folders of unfinished atomic outputs are removed (src/data/atomic.ts); finished files are whole.
 * Once a command's own handler is installed this one steps aside.
 */

function early(sig: NodeJS.Signals): void {
  if (process.listenerCount(sig) > 1) return; // a command's handler stops its work after the step in flight
  const what = sig === 'SIGINT' ? 'Ctrl-C' : sig;
  process.stderr.write(`\nhyperseg: stopped by ${what}; no partial output was kept (files are written whole or not at all)\n`);
  process.exit(130);
}

process.on('SIGINT', early);
process.on('SIGTERM', early);
