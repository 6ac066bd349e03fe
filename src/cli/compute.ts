/** The flags that choose where compute runs, shared by train, segment, quickstart and ablate. */

import type { Command } from 'commander';
import { parseChoice, parseIntOption } from './run.js';

export const ENGINES = ['node-gpu', 'node', 'wasm', 'cpu'] as const;

/** `threadsDefault`: the words for --threads' default (all cores unless a command fixes it). */
export function addComputeOptions(cmd: Command, threadsDefault = 'all cores'): Command {
  return cmd
    .option('--backend <name>', 'torch | tfjs (TypeScript only) (default torch; a resumed run keeps its own)', parseChoice('--backend', ['torch', 'tfjs'] as const))
    .option('--engine <name>', `tfjs engine to force: ${ENGINES.join(', ')} (default: the first that loads)`, parseChoice('--engine', ENGINES))
    .option('--device <device>', 'torch: device of the local worker (cpu, cuda, cuda:N)')
    .option('--workers <endpoints...>', 'torch: use running workers (tcp://host:port or ipc://path) instead of starting one')
    .option('--threads <n>', `torch threads (default: ${threadsDefault})`, parseIntOption('--threads', 1, 1024));
}
