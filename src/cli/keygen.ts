/** `hyperseg keygen`: a CURVE key pair for a remote worker or for a client a worker lets in. */

import type { Command } from 'commander';
import { newCurvePair } from '../backends/torch/curve.js';
import { action, toJson } from './run.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('a new CURVE key pair (Z85) for remote workers: the worker\'s own, or a client\'s that a worker lists in --curve-client-keys')
    .option('--json', 'machine-readable output')
    .action(action(async (flags: { json?: boolean }) => {
      const { publicKey, secretKey } = newCurvePair();
      if (flags.json) {
        process.stdout.write(`${toJson({ ok: true, publicKey, secretKey })}\n`);
        return;
      }
      process.stdout.write(
        `public key: ${publicKey}\n` +
        `secret key: ${secretKey}\n\n` +
        'For a client: put the public key on a line of the worker\'s --curve-client-keys file, and run hyperseg with\n' +
        '  HYPERSEG_CURVE_CLIENT_SECRET_KEY=<secret key> HYPERSEG_CURVE_SERVER_KEY=<worker\'s public key> hyperseg ... --workers tcp://HOST:PORT\n' +
        'For a worker: HYPERSEG_CURVE_SECRET_KEY=<secret key> python -m hyperseg_worker.server --allow-remote --curve-client-keys FILE ...\n' +
        'Keep secret keys out of files others can read and out of command lines (ps shows them).\n',
      );
    }));
}
