/** `hyperseg import-checkpoint FILE.pt`: a PyTorch state_dict of our model → safetensors weights (through pythonia). */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { importCheckpoint } from '../control/python.js';
import { HypersegError } from '../errors.js';
import { action, readConfigArg, toJson } from './run.js';

export function registerImportCheckpoint(program: Command): void {
  program
    .command('import-checkpoint')
    .description('convert a PyTorch state_dict (.pt) of the hyperseg model into safetensors weights')
    .argument('<file>', '.pt / .pth file holding a state_dict (or {"state_dict": ...})')
    .requiredOption('--out <file>', 'output .safetensors (a .json with the configuration is written beside it)')
    .option('--config <file|json>', 'model configuration the state_dict belongs to (a JSON file or inline), e.g. \'{"preset":"paper"}\'', '{}')
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (file: string, flags: { out: string; config: string; json?: boolean }) => {
      if (!existsSync(file)) throw new HypersegError('FILE_NOT_FOUND', `${file}: no such file`);
      if (!flags.out.endsWith('.safetensors')) throw new HypersegError('INVALID_ARGUMENT', `--out must end in .safetensors, got '${flags.out}'`);
      const config = await readConfigArg(flags.config, 'the configuration the state_dict belongs to');
      const r = await importCheckpoint(resolve(file), resolve(flags.out), config);
      if (flags.json) process.stdout.write(`${toJson({ ok: true, ...r })}\n`);
      else process.stdout.write(`wrote ${r.out}: ${r.tensors} tensors, ${r.parameters} parameters (${r.preset} preset)\n`);
    }));
}
