/** The `hyperseg` command line: a thin shell over the library, one file per command (entry point: main.ts). */

import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerCluster } from './cluster.js';
import { registerDoctor } from './doctor.js';
import { registerEvaluate } from './evaluate.js';
import { registerImportCheckpoint } from './import-checkpoint.js';
import { registerParity } from './parity.js';
import { registerInfo } from './info.js';
import { registerKeygen } from './keygen.js';
import { registerAblate, registerQuickstart } from './quickstart.js';
import { registerSegment } from './segment.js';
import { registerSynth } from './synth.js';
import { registerTrain } from './train.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('hyperseg')
    .description('Unsupervised 3D segmentation with self-supervised hyperbolic representations')
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    // commander exits with 1 on usage errors; bad usage is exit code 2 throughout hyperseg.
    .exitOverride((err) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
      process.exit(2);
    });
  registerSynth(program);
  registerInfo(program);
  registerQuickstart(program);
  registerTrain(program);
  registerSegment(program);
  registerAblate(program);
  registerCluster(program);
  registerEvaluate(program);
  registerBench(program);
  registerDoctor(program);
  registerImportCheckpoint(program);
  registerKeygen(program);
  registerParity(program);
  for (const cmd of program.commands) {
    cmd.showHelpAfterError('(run with --help for usage)').exitOverride((err) => {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') process.exit(0);
      process.exit(2);
    });
  }
  return program;
}
