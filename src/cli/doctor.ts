/** `hyperseg doctor`: what this machine can run — Node, Python and torch (through pythonia), CUDA, the worker round trip, tfjs engines. */

import { cpus } from 'node:os';
import type { Command } from 'commander';
import { availableEngines, selectEngine } from '../backends/tfjs/engine.js';
import { TorchBackend } from '../backends/torch/backend.js';
import { probePython } from '../control/python.js';
import { PROTOCOL_VERSION } from '../protocol/codec.js';
import { action, toJson } from './run.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  required: boolean;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the environment: Node, Python, torch, CUDA, the worker protocol round trip, TensorFlow.js engines')
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: { json?: boolean }) => {
      const checks: Check[] = [];
      const add = (name: string, ok: boolean, detail: string, required = true) => checks.push({ name, ok, detail, required });
      add('node', Number(process.versions.node.split('.')[0]) >= 20, `Node ${process.versions.node} on ${process.platform}/${process.arch}, ${cpus().length} CPU(s)`);
      let probe: Awaited<ReturnType<typeof probePython>> | null = null;
      try {
        probe = await probePython();
        add('python', true, `Python ${probe.python} (${probe.executable}), via pythonia`);
        add('torch', probe.torch !== null, probe.torch ? `torch ${probe.torch}, ${probe.threads ?? '?'} thread(s)` : String(probe.torch_error ?? 'not importable'));
        for (const m of ['numpy', 'zmq', 'pyarrow', 'safetensors'] as const) add(m, probe[m] !== null, probe[m] ? `${m} ${probe[m]}` : String(probe[`${m}_error`] ?? 'missing'));
        add('cuda', true, probe.cuda.length ? probe.cuda.join(', ') : 'no CUDA device (CPU only)', false);
      } catch (e) {
        add('python', false, (e as Error).message);
      }
      try {
        const t0 = performance.now();
        const b = await TorchBackend.start({ threads: 1, startTimeoutMs: 120_000 });
        const started = performance.now() - t0;
        const info = b.info();
        const t1 = performance.now();
        await b.init({ preset: 'small' }, 0);
        const enc = await b.encode(new Float32Array(1000), 1, 10);
        const rt = performance.now() - t1;
        await b.close();
        add('worker', enc.mu.length === 2, `protocol v${PROTOCOL_VERSION} round trip: worker up in ${(started / 1000).toFixed(1)} s, init + encode in ${rt.toFixed(0)} ms (torch ${String(info.torch)}, ${String(info.device)})`);
      } catch (e) {
        add('worker', false, (e as Error).message);
      }
      try {
        const engines = await availableEngines();
        const chosen = await selectEngine();
        const native = engines.includes('node') || engines.includes('node-gpu');
        add('tfjs', true, `TensorFlow.js engine: ${chosen} (available: ${engines.join(', ')}${native ? '' : '; the native engine (tfjs-node, 20–30× faster) is not installed: run `bash scripts/tfjs-native.sh`'})`, false);
      } catch (e) {
        add('tfjs', false, (e as Error).message, false);
      }
      const ok = checks.every((c) => c.ok || !c.required);
      if (flags.json) {
        process.stdout.write(`${toJson({ ok, checks })}\n`);
      } else {
        for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'}  ${c.name.padEnd(12)} ${c.detail}\n`);
        process.stdout.write(ok ? 'hyperseg doctor: everything needed is here\n' : 'hyperseg doctor: some required parts are missing (see FAIL lines)\n');
      }
      if (!ok) process.exitCode = 1;
    }));
}
