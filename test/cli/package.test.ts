/**
 * The package as a user installs it: `npm pack`'s tarball, unpacked as node_modules/hyperseg of another
 * project (its dependencies linked from this checkout's node_modules: no network). The library is imported
 * by name, typed, and runs the torch backend, whose worker and Python environment come from the files the
 * tarball holds (scripts/python-env.sh was not among them: every torch call of an installed package failed).
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = tempDir('hyperseg-package-');

describe('the packed package', () => {
  it('imports by name in another project, type-checks, and encodes with the torch backend', () => {
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop() as string;
    const consumer = join(dir, 'consumer');
    const modules = join(consumer, 'node_modules');
    mkdirSync(join(modules, 'hyperseg'), { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, tarball), '-C', join(modules, 'hyperseg'), '--strip-components', '1']);
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (name !== 'hyperseg' && name !== '.bin') symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
    }
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const program = `import { createBackend, dist, type ComputeBackend } from 'hyperseg';
const backend: ComputeBackend = await createBackend('torch', { threads: 1 });
await backend.init({ preset: 'small' }, 0);
const m = 10;
const { mu } = await backend.encode(new Float32Array(2 * m * m * m).fill(0.5), 2, m);
const d = dist(mu.subarray(0, 2), mu.subarray(2, 4), 1);
console.log(JSON.stringify({ backend: backend.name, mu: Array.from(mu), d }));
await backend.close();
`;
    writeFileSync(join(consumer, 'main.ts'), program);
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', skipLibCheck: true, types: ['node'] },
      files: ['main.ts'],
    }));
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], { encoding: 'utf8' });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    // the worker's interpreter found as an installed package finds it (not HYPERSEG_WORKER_PYTHON)
    const env = { ...process.env };
    delete env.HYPERSEG_WORKER_PYTHON;
    const r = spawnSync(process.execPath, [join(consumer, 'out', 'main.js')], { cwd: consumer, encoding: 'utf8', env, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { backend: string; mu: number[]; d: number };
    expect(out.backend).toBe('torch');
    expect(out.mu).toHaveLength(4);
    for (const v of out.mu) expect(Number.isFinite(v)).toBe(true);
    expect(out.d).toBeCloseTo(0, 6); // two identical patches: the same embedding
    const cli = spawnSync(process.execPath, [join(modules, 'hyperseg', 'dist', 'cli', 'main.js'), '--version'], { encoding: 'utf8' });
    expect(cli.stdout.trim()).toBe((JSON.parse(execFileSync('npm', ['pkg', 'get', 'version'], { cwd: ROOT, encoding: 'utf8' })) as string));
  }, 180_000);
});
