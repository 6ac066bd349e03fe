import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNifti, writeNifti } from '../../src/data/nifti.js';
import { CLI, hyperseg } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

describe('hyperseg synth', () => {
  it('writes the hierarchical dataset and reports it (--json)', () => {
    const out = join(dir, 'ds');
    const r = hyperseg('synth', '--out', out, '--count', '6', '--size', '20', '--seed', '3', '--irregular', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: true, kind: 'hierarchical', count: 6, size: 20, irregular: true, split: { train: 4, val: 1, test: 1 } });
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(m.volumes).toHaveLength(6);
    expect(existsSync(join(out, m.volumes[5].labels['3']))).toBe(true);
    const again = hyperseg('synth', '--out', out, '--count', '6');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists and is not empty/);
    expect(again.stderr).toMatch(/--force/);
  });

  it('writes BraTS-layout phantoms', () => {
    const out = join(dir, 'brats');
    const r = hyperseg('synth', '--kind', 'brats-phantom', '--out', out, '--count', '1', '--shape', '48x48x32');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote 1 BraTS-layout phantom cases/);
    expect(existsSync(join(out, 'BraTS19_PHANTOM_000_1', 'BraTS19_PHANTOM_000_1_flair.nii.gz'))).toBe(true);
  });

  it('Ctrl-C during --force leaves the old dataset whole and no staging folder, with a message and exit code 130', async () => {
    // synth has no stop-after-the-step handler of its own: the CLI's early one (cli/signals.ts) exits, and the
    // exit hook of data/atomic.ts removes the half-built staging folder (Node's default death by SIGINT left it)
    const sub = join(dir, 'sigint');
    const out = join(sub, 'ds');
    expect(hyperseg('synth', '--out', out, '--count', '3', '--size', '16').code).toBe(0);
    const before = readFileSync(join(out, 'manifest.json'), 'utf8');
    const child = spawn(process.execPath, [CLI, 'synth', '--out', out, '--count', '5000', '--size', '40', '--force'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
    const staged = () => readdirSync(sub).filter((n) => n.startsWith('.ds.partial-'));
    const t0 = Date.now();
    // wait until the staging folder holds a volume: the run is well inside the work, not in its imports
    while (!staged().some((n) => readdirSync(join(sub, n), { recursive: true }).some((f) => String(f).endsWith('.nii.gz')))) {
      if (Date.now() - t0 > 60_000) throw new Error(`no staging folder appeared: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    const how = await exited;
    expect(how, stderr).toEqual({ code: 130, signal: null });
    expect(stderr).toMatch(/hyperseg: stopped by Ctrl-C; no partial output was kept/);
    expect(staged()).toEqual([]);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(before);
  }, 90_000);

  it('rejects bad flags before any work', () => {
    expect(hyperseg('synth', '--out', join(dir, 'x1'), '--count', '0').code).toBe(2);
    expect(hyperseg('synth', '--out', join(dir, 'x2'), '--kind', 'mri').stderr).toMatch(/--kind must be one of hierarchical, brats-phantom/);
    const r = hyperseg('synth', '--out', join(dir, 'x3'), '--kind', 'brats-phantom', '--shape', '10x10');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--shape must be three integers/);
    expect(hyperseg('synth', '--out', join(dir, 'x4'), '--shape', '48x48x32').stderr).toMatch(/--shape applies to --kind brats-phantom/);
    expect(existsSync(join(dir, 'x1')) || existsSync(join(dir, 'x3')) || existsSync(join(dir, 'x4'))).toBe(false);
  });
});

describe('hyperseg info', () => {
  it('prints shape, datatype, spacing, affine and min/max/mean of the scaled data', async () => {
    const f = join(dir, 'img.nii.gz');
    const data = Int16Array.from({ length: 60 }, (_, i) => i - 10);
    await writeNifti(f, { shape: [5, 4, 3], spacing: [0.5, 1, 2], data, affine: [[0.5, 0, 0, -3], [0, 1, 0, 4], [0, 0, 2, 5], [0, 0, 0, 1]] });
    const r = hyperseg('info', f, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ shape: [5, 4, 3], datatype: 'int16', spacing: [0.5, 1, 2], min: -10, max: 49, nonFinite: 0 });
    expect(j.mean).toBeCloseTo(19.5, 12);
    expect(j.affine[2]).toEqual([0, 0, 2, 5]);
    const human = hyperseg('info', f);
    expect(human.stdout).toMatch(/shape 5 × 4 × 3 \(60 voxels\), int16/);
  });

  it('applies scl_slope/scl_inter, reports NaN voxels instead of failing, and refuses broken files', () => {
    const b = encodeNifti({ shape: [2, 2, 2], data: Float32Array.from([1, 2, 3, NaN, 5, 6, 7, 8]) });
    b.writeFloatLE(2, 112);
    b.writeFloatLE(1, 116);
    const f = join(dir, 'scaled.nii');
    writeFileSync(f, b);
    const j = JSON.parse(hyperseg('info', f, '--json').stdout);
    expect(j).toMatchObject({ min: 3, max: 17, nonFinite: 1 });
    const broken = join(dir, 'broken.nii');
    writeFileSync(broken, b.subarray(0, 360));
    const r = hyperseg('info', broken);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken.nii: expected 384 bytes .* the file has 360/);
    const huge = Buffer.from(b);
    huge.writeInt16LE(10000, 42);
    huge.writeInt16LE(10000, 44);
    huge.writeInt16LE(10000, 46);
    const hf = join(dir, 'huge.nii');
    writeFileSync(hf, huge);
    expect(hyperseg('info', hf).stderr).toMatch(/claims 10000×10000×10000 = 1000000000000 voxels, above the limit/);
    expect(hyperseg('info', join(dir, 'none.nii')).stderr).toMatch(/cannot read file \(ENOENT\)/);
  });
});
