/** `hyperseg parity`: the same weights in both backends, every intermediate compared with its tolerance. */

import type { Command } from 'commander';
import { runParity } from '../backends/parity.js';
import type { Engine } from '../backends/tfjs/engine.js';
import { resolveModelConfig } from '../backends/config.js';
import type { ModelConfig } from '../backends/types.js';
import { action, parseChoice, parseIntOption, readConfigArg, toJson } from './run.js';

export function registerParity(program: Command): void {
  program
    .command('parity')
    .description('load the same weights into the torch and tfjs backends and compare everything they compute')
    .option('--weights <file>', 'safetensors weights (a torch checkpoint or a tfjs save); default: seeded initial weights')
    .option('--config <file|json>', 'model configuration, a JSON file or inline, e.g. \'{"preset":"small","gyroconv":false}\'')
    .option('--seed <s>', 'seed for initial weights, inputs and noise', parseIntOption('--seed', 0), 0)
    .option('--engine <e>', 'TensorFlow.js engine: cpu | wasm | node | node-gpu', parseChoice('--engine', ['cpu', 'wasm', 'node', 'node-gpu'] as const), 'cpu')
    .option('--step <n>', 'compare the step that follows n steps (the KL weight and learning rate under kl_warmup / lr_warmup)', parseIntOption('--step', 0), 0)
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: { weights?: string; config?: string; seed: number; step: number; engine: Engine; json?: boolean }) => {
      const config = flags.config === undefined ? undefined : ((await readConfigArg(flags.config)) as ModelConfig);
      if (config) resolveModelConfig(config); // a bad value named before a worker starts (it came back as the worker's BAD_CONFIG, exit 1)
      const r = await runParity({ weights: flags.weights, config, seed: flags.seed, engine: flags.engine, step: flags.step });
      if (flags.json) {
        process.stdout.write(`${toJson(r)}\n`);
      } else {
        const lines = [`torch ${r.torch} vs TensorFlow.js (${r.engine} engine), config ${JSON.stringify(r.config)}`, 'tensor'.padEnd(46) + 'max |diff|'.padEnd(13) + 'relative'.padEnd(12) + 'tolerance'];
        for (const row of r.rows) {
          const tol = row.kind === 'rel' ? `rel ≤ ${row.tolerance}` : row.kind === 'abs' ? `abs ≤ ${row.tolerance}` : `agree ≥ ${row.tolerance}`;
          lines.push(`${row.ok ? ' ' : '✗'} ${row.tensor.padEnd(44)}${row.maxAbs.toExponential(2).padEnd(13)}${row.maxRel.toExponential(2).padEnd(12)}${tol}${row.excluded ? ` (${row.excluded} near-zero-gradient entries not compared)` : ''}`);
        }
        lines.push(r.ok ? `parity: all ${r.rows.length} comparisons within tolerance` : `parity: ${r.rows.filter((x) => !x.ok).length} comparison(s) out of tolerance`);
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (!r.ok) process.exitCode = 1;
    }));
}
