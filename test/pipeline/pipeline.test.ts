/**
 * The experiment pipeline end to end, on real files, a real torch worker and the built CLI:
 * exact resume, Ctrl-C, segmentation outputs (labels with the input's affine, embeddings, pictures),
 * dense = per-patch through the slabbed pipeline path, evaluate --run against a brute-force
 * permutation search, the quickstart, the BraTS-layout phantom, and bad input.
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TorchBackend } from '../../src/backends/torch/backend.js';
import { denseMacsPerVoxel, patchMacs, resolveModelConfig } from '../../src/backends/config.js';
import { writeSynthDataset } from '../../src/data/dataset.js';
import { labelData, readNifti, writeNifti } from '../../src/data/nifti.js';
import { readNpy } from '../../src/data/npy.js';
import { synthVolume } from '../../src/data/synth.js';
import { kmeans } from '../../src/cluster/kmeans.js';
import { dist } from '../../src/geometry/poincare.js';
import { embedVolume } from '../../src/pipeline/embed.js';
import { segment } from '../../src/pipeline/segment.js';
import { train } from '../../src/pipeline/train.js';
import { Rng } from '../../src/random.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { CLI, hyperseg } from '../helpers/cli.js';
import { DP_TOLERANCE } from '../helpers/data-parallel.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('hyperseg-pipeline-');
const data = join(dir, 'ds');

beforeAll(async () => {
  await writeSynthDataset({ out: data, count: 6, size: 24, seed: 4 });
});

const metrics = (run: string) => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number; recon: number; triplet: number });

describe('Rng state', () => {
  it('continues the same sequence from a saved state', () => {
    const a = new Rng(11);
    for (let i = 0; i < 7; i++) a.normal(); // leaves a spare normal pending
    const b = Rng.fromState(a.state());
    expect(Array.from({ length: 9 }, () => b.normal())).toEqual(Array.from({ length: 9 }, () => a.normal()));
    expect(() => Rng.fromState([0, 0, 0, 0, 0, 0])).toThrow(/all zero/);
    expect(() => Rng.fromState([1, 2])).toThrow(/6 finite numbers/);
  });
});

describe('train (torch)', () => {
  it('resumes exactly: stop after 3 of 6 steps, resume, and get the uninterrupted run bit for bit', async () => {
    const full = join(dir, 'full');
    const cut = join(dir, 'cut');
    const common = { data: [data], backend: 'torch' as const, model: { preset: 'small' as const }, seed: 5, steps: 6, batch: 8, checkpointEvery: 3, threads: 1 };
    const a = await train({ ...common, out: full });
    expect(a.completed).toBe(true);
    const b1 = await train({ ...common, out: cut, stopAfter: 3 });
    expect(b1.completed).toBe(false);
    expect(b1.steps).toBe(3);
    expect(JSON.parse(readFileSync(join(cut, 'state.json'), 'utf8')).step).toBe(3);
    const b2 = await train({ out: cut, resume: true });
    expect(b2.completed).toBe(true);
    expect(b2.resumedFrom).toBe(3);
    expect(metrics(cut).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(metrics(cut).map((m) => m.loss)).toEqual(metrics(full).map((m) => m.loss));
    const wa = (await readSafetensors(join(full, 'model.safetensors'))).tensors;
    const wb = (await readSafetensors(join(cut, 'model.safetensors'))).tensors;
    expect([...wb.keys()].sort()).toEqual([...wa.keys()].sort());
    for (const [name, t] of wa) if (name.startsWith('model.')) expect(Array.from(wb.get(name)?.data ?? []), name).toEqual(Array.from(t.data));
  }, 180_000);

  it('trains data-parallel over two local workers: as one worker up to float order, and resumes bit for bit', async () => {
    const common = { data: [data], backend: 'torch' as const, model: { preset: 'small' as const }, seed: 6, steps: 4, batch: 6, checkpointEvery: 2, threads: 1 };
    const one = await train({ ...common, out: join(dir, 'dp-one') });
    const dp = await train({ ...common, out: join(dir, 'dp-full'), localWorkers: 2, dataParallel: true });
    expect(dp.completed).toBe(true);
    const a = metrics(join(dir, 'dp-full'));
    const b = metrics(join(dir, 'dp-one'));
    expect(one.completed).toBe(true);
    a.forEach((m, i) => expect(Math.abs(m.loss - b[i].loss) / Math.abs(b[i].loss), `step ${m.step}`).toBeLessThan(DP_TOLERANCE[i]));
    const cut = join(dir, 'dp-cut');
    await train({ ...common, out: cut, localWorkers: 2, dataParallel: true, stopAfter: 2 });
    const resumed = await train({ out: cut, resume: true, localWorkers: 2, dataParallel: true });
    expect(resumed.resumedFrom).toBe(2);
    expect(metrics(cut).map((m) => m.loss)).toEqual(a.map((m) => m.loss));
  }, 240_000);

  it('refuses to overwrite a run, and --resume needs one', () => {
    const again = hyperseg('train', '--data', data, '--out', join(dir, 'full'), '--steps', '2');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a run/);
    expect(again.stderr).toMatch(/--resume/);
    const none = hyperseg('train', '--resume', data);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/config\.json: cannot read the run configuration/);
    const missing = hyperseg('train', '--data', join(dir, 'nope'), '--out', join(dir, 'x'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/FILE_NOT_FOUND.*nope/);
  });

  it('--resume keeps the run\'s data, model, seed and batch, never shortens it, and extends it with --steps', () => {
    const full = join(dir, 'full'); // 6 steps, seed 5, batch 8, small preset
    const refused: [string[], RegExp][] = [
      [['--seed', '4'], /was trained with seed 5, not 4/],
      [['--batch', '16'], /was trained with batch 8, not 16/],
      [['--preset', 'paper'], /was trained with model \(.*preset.*\) .*"preset":"small".*, not .*"preset":"paper"/],
      [['--data', join(dir, 'nope')], /was trained with data \[.*ds"\], not \[.*nope"\]/],
      [['--steps', '3'], /has already trained 6 steps; --steps 3 would not continue it/],
      // accepted and ignored before
      [['--backend', 'tfjs'], /was trained with backend "torch", not "tfjs"/],
      [['--max-volumes', '1'], /a resumed run trains on the 4 volumes it recorded; --max-volumes chooses them for a new run/],
    ];
    for (const [flags, message] of refused) {
      const r = hyperseg('train', '--resume', full, ...flags);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr, flags.join(' ')).toMatch(message);
    }
    // a refused resume changes nothing: --keep and --checkpoint-every were written before --steps was refused
    const config = readFileSync(join(full, 'config.json'), 'utf8');
    const partly = hyperseg('train', '--resume', full, '--keep', '1', '--checkpoint-every', '1', '--steps', '3');
    expect(partly.code).toBe(2);
    expect(partly.stderr).toMatch(/has already trained 6 steps; --steps 3 would not continue it/);
    expect(readFileSync(join(full, 'config.json'), 'utf8')).toBe(config);
    const same = hyperseg('train', '--resume', full, '--data', data, '--seed', '5', '--batch', '8', '--preset', 'small');
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/had already trained all 6 steps: nothing to do/);
    const ext = join(dir, 'extended');
    cpSync(full, ext, { recursive: true });
    const r = hyperseg('train', '--resume', ext, '--steps', '7', '--threads', '1', '--keep', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    // --keep on a resume is taken (the run's 2 were kept before) and recorded for the next
    expect(readdirSync(join(ext, 'checkpoints')).filter((f) => f.endsWith('.safetensors'))).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(ext, 'config.json'), 'utf8')).keep).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ completed: true, steps: 7, resumedFrom: 6 });
    expect(JSON.parse(readFileSync(join(ext, 'config.json'), 'utf8')).steps).toBe(7); // it said 6 before
    expect(metrics(ext).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(metrics(ext).slice(0, 6)).toEqual(metrics(full));
  }, 120_000);

  it('a damaged run is refused by name before --resume changes anything (config, final weights, checkpoints)', () => {
    const full = join(dir, 'full'); // finished: 6 steps, checkpoints at 3 and 6
    const files = (run: string) => Object.fromEntries(['config.json', 'state.json', 'model.safetensors', 'checkpoints/step-000006.safetensors'].map((f) => [f, existsSync(join(run, f)) ? createHash('sha256').update(readFileSync(join(run, f))).digest('hex') : null]));
    const edit = (file: string, change: (text: string) => string) => (run: string) => writeFileSync(join(run, file), change(readFileSync(join(run, file), 'utf8')));
    const json = (file: string, change: (j: Record<string, unknown>) => void) => edit(file, (t) => {
      const j = JSON.parse(t) as Record<string, unknown>;
      change(j);
      return JSON.stringify(j);
    });
    const cases: [string, (run: string) => void, RegExp][] = [
      // before: model.safetensors deleted and "steps": 7 written, then the sampler state refused, naming no file
      ['a broken sampler state', json('state.json', (j) => { j.sampler = 'x'; }), /state\.json: sampler: random generator state must be 6 finite numbers/],
      // before: accepted, 13 steps run from -7, checkpoints named step-0000-1
      ['a negative step', json('state.json', (j) => { j.step = -7; }), /state\.json: step must be an integer ≥ 1, got -7/],
      // before: read as "no checkpoint yet", and the run would have started over
      ['a state of null', edit('state.json', () => 'null'), /state\.json: not a run state/],
      ['a missing checkpoint', (run) => writeFileSync(join(run, 'checkpoints/step-000006.safetensors.json'), '{}'), /step-000006\.safetensors\.json: not a hyperseg checkpoint record/],
      // before: the worker's "load failed [INTERNAL]: SafetensorError: header too large"
      ['an overwritten checkpoint', (run) => writeFileSync(join(run, 'checkpoints/step-000006.safetensors'), Buffer.alloc(4096, 0xab)), /step-000006\.safetensors: header length \d+ does not fit a 4096-byte file/],
      // before: trained the checkpoint's latent_dim 2 and wrote final weights labelled 4, exit 0
      ['a config.json that disagrees with the checkpoint', json('config.json', (j) => { (j.model as Record<string, unknown>).latent_dim = 4; }), /config\.json and the checkpoint checkpoints\/step-000006\.safetensors describe different models \(latent_dim: 4 against 2\)/],
      // before: the worker's BAD_CONFIG for train, exit 2 naming no file for segment
      ['an unknown preset', json('config.json', (j) => { (j.model as Record<string, unknown>).preset = 'huge'; }), /config\.json: model: unknown preset 'huge'/],
      ['a checkpoint of another step', json('checkpoints/step-000006.safetensors.json', (j) => { j.step = 5; }), /the checkpoint is of step 5, state\.json says 6/],
      ['a newer checkpoint format', json('checkpoints/step-000006.safetensors.json', (j) => { j.version = 9; }), /checkpoint format version 9 is newer than this hyperseg's 1/],
    ];
    cases.forEach(([what, damage, message], i) => {
      const run = join(dir, `damaged-${i}`);
      cpSync(full, run, { recursive: true });
      damage(run);
      const before = files(run);
      const r = hyperseg('train', '--resume', run, '--steps', '7', '--threads', '1');
      expect(r.code, `${what}: ${r.stderr}`).toBe(1);
      expect(r.stderr, what).toMatch(message);
      expect(r.stderr, what).not.toMatch(/INTERNAL|TypeError/);
      expect(files(run), what).toEqual(before);
    });
    const seg = hyperseg('segment', '--model', join(dir, 'damaged-6'), '--input', data, '--out', join(dir, 'seg-damaged'));
    expect(seg.code, seg.stderr).toBe(1);
    expect(seg.stderr).toMatch(/config\.json: model: unknown preset 'huge'/);
  }, 120_000);

  it('takes sampler sizes from the command line, records them in the run, and refuses bad ones', () => {
    const run = join(dir, 'sampler');
    const r = hyperseg('train', '--data', data, '--out', run, '--steps', '1', '--batch', '4', '--threads', '1', '--anchor-sizes', '6,12', '--child-sizes', '2,5', '--anchor-scale', 'log', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).sampler).toEqual({ m: 10, rMin: 6, rMax: 12, lMin: 2, lMax: 5, scale: 'log' });
    const order = hyperseg('train', '--data', data, '--out', join(dir, 's2'), '--anchor-sizes', '12,6');
    expect(order.code).toBe(2);
    expect(order.stderr).toMatch(/--anchor-sizes takes two positive numbers min,max with min < max, got '12,6'/);
    const big = hyperseg('train', '--data', data, '--out', join(dir, 's3'), '--anchor-sizes', '5,30'); // the volumes are 24³
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/rMax = 30 must be below the smallest training volume's side \(24: \S+synth_\d+\.nii\.gz, 24×24×24\)/); // the file named
    expect(existsSync(join(dir, 's3', 'config.json'))).toBe(false);
    const noChild = hyperseg('train', '--data', data, '--out', join(dir, 's4'), '--anchor-sizes', '3,4', '--child-sizes', '3,5');
    expect(noChild.code).toBe(2);
    expect(noChild.stderr).toMatch(/must exceed lMin/);
    const lonely = hyperseg('train', '--data', data, '--out', join(dir, 's5'), '--data-parallel');
    expect(lonely.code).toBe(2);
    expect(lonely.stderr).toMatch(/data-parallel training needs at least 2 workers, got 1/);
    const tfjs = hyperseg('train', '--data', data, '--out', join(dir, 's6'), '--data-parallel', '--local-workers', '2', '--backend', 'tfjs');
    expect(tfjs.stderr).toMatch(/data-parallel training needs the torch backend/);
    for (const d of ['s5', 's6']) expect(existsSync(join(dir, d)), d).toBe(false);
    const resumed = hyperseg('train', '--resume', run, '--steps', '2', '--anchor-sizes', '6,10');
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain(`${run} was trained with sampler's rMax 12, not 10: a resumed run keeps its sampler's rMax`);
    // given again as they were, they are taken (ablate and the quickstart pass theirs on every re-run)
    const same = hyperseg('train', '--resume', run, '--steps', '2', '--threads', '1', '--anchor-sizes', '6,12', '--child-sizes', '2,5', '--anchor-scale', 'log', '--intensity-jitter', '0,0');
    expect(same.code, same.stderr).toBe(0);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(2);
  }, 120_000);

  it('Ctrl-C stops after the step in flight with a checkpoint; --resume finishes the run', async () => {
    const run = join(dir, 'sigint');
    // detached: the CLI leads its own process group, and the signal goes to the whole group, as a terminal's
    // Ctrl-C does (before the worker had its own group, it died of the same SIGINT and no checkpoint was written)
    const child = spawn(process.execPath, [CLI, 'train', '--data', data, '--out', run, '--steps', '100000', '--batch', '8', '--checkpoint-every', '100000', '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number>((res) => child.on('exit', (code, sig) => res(code ?? (sig === 'SIGKILL' ? -9 : -1))));
    await new Promise<void>((res, rej) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        if (stderr.includes('training on')) {
          clearInterval(poll);
          setTimeout(res, 3000); // a few steps
        } else if (Date.now() - t0 > 60_000) {
          clearInterval(poll);
          rej(new Error(`the run did not start: ${stderr}`));
        }
      }, 100);
    });
    process.kill(-(child.pid as number), 'SIGINT');
    const code = await exited;
    expect(code, stderr).toBe(130);
    const st = JSON.parse(readFileSync(join(run, 'state.json'), 'utf8')) as { step: number; checkpoint: string };
    expect(st.step).toBeGreaterThan(0);
    expect(existsSync(join(run, st.checkpoint))).toBe(true);
    expect(metrics(run).map((m) => m.step)).toEqual(Array.from({ length: st.step }, (_, i) => i + 1));
    const r = hyperseg('train', '--resume', run, '--steps', String(st.step + 2), '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ completed: true, steps: st.step + 2, resumedFrom: st.step });
    expect(existsSync(join(run, 'model.safetensors'))).toBe(true);
  }, 180_000);
});

describe('segment and evaluate --run', () => {
  const seg = join(dir, 'seg');

  it('writes labels per k with the input affine, embeddings and pictures (CLI, dense path)', () => {
    const r = hyperseg('segment', '--model', join(dir, 'full'), '--input', data, '--out', seg, '--k', '2,4', '--split', 'all', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.path).toBe('dense');
    expect(j.cases).toHaveLength(6);
    expect(j.ks).toEqual([2, 4]);
  }, 120_000);

  it('label volumes, embeddings and pictures are real files with the right contents', async () => {
    const s = JSON.parse(readFileSync(join(seg, 'segment.json'), 'utf8'));
    const c = s.cases[0];
    const img = await readNifti(c.files[0]);
    const lab = await readNifti(join(seg, c.labels['4']));
    expect(lab.shape).toEqual(img.shape);
    expect(lab.affine).toEqual(img.affine);
    const labels = labelData(lab);
    const used = new Set(labels);
    expect(Math.max(...used)).toBeLessThan(4);
    expect(used.size).toBeGreaterThan(1);
    const emb = await readNpy(join(seg, c.embeddings));
    expect(emb.shape).toEqual([24 ** 3, 2]);
    let maxNorm = 0;
    for (let i = 0; i < emb.data.length; i += 2) maxNorm = Math.max(maxNorm, Math.hypot(emb.data[i], emb.data[i + 1]));
    expect(maxNorm).toBeLessThan(1); // inside the Poincaré ball
    for (const pic of [c.montage, c.disk]) {
      const png = PNG.sync.read(readFileSync(join(seg, pic)));
      expect(png.width).toBeGreaterThan(100);
      expect(png.height).toBeGreaterThan(50);
    }
  });

  it('evaluate --run equals a brute-force search over cluster permutations', async () => {
    const r = hyperseg('evaluate', '--run', seg, '--json');
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as { cases: { id: string; target: string; k: number; meanDice: number }[]; aggregates: { target: string; dice: { mean: number } }[] };
    expect(rep.aggregates.map((a) => a.target).sort()).toEqual(['level1', 'level2']);
    const s = JSON.parse(readFileSync(join(seg, 'segment.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(data, 'manifest.json'), 'utf8'));
    const perms = (n: number): number[][] => (n === 1 ? [[0]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)])));
    for (const c of s.cases.slice(0, 3)) {
      const vol = manifest.volumes.find((v: { id: string }) => v.id === c.id);
      for (const [level, k] of [[1, 2], [2, 4]] as const) {
        const truth = labelData(await readNifti(join(data, vol.labels[String(level)])));
        const pred = labelData(await readNifti(join(seg, c.labels[String(k)])));
        let best = -1;
        for (const p of perms(k)) {
          let sum = 0;
          let count = 0;
          for (let cls = 0; cls < k; cls++) {
            let inter = 0;
            let np = 0;
            let nt = 0;
            for (let i = 0; i < truth.length; i++) {
              const a = p[pred[i]] === cls;
              const b = truth[i] === cls;
              if (a) np++;
              if (b) nt++;
              if (a && b) inter++;
            }
            if (nt > 0) {
              sum += (2 * inter) / (np + nt);
              count++;
            }
          }
          best = Math.max(best, sum / count);
        }
        const got = rep.cases.find((x) => x.id === c.id && x.k === k)?.meanDice;
        // Hungarian maximises overlap, the brute force maximises mean Dice: equal here or the matching is wrong
        expect(got).toBeCloseTo(best, 2);
        expect(got ?? 0).toBeLessThanOrEqual(best + 1e-12);
      }
    }
    const md = readFileSync(join(seg, 'report.md'), 'utf8');
    expect(md).toMatch(/\| Method \| Level 1 \(k = 2\) \| Level 2 \(k = 4\) \|/);
    expect(md).toMatch(/!\[montage\]/);
  });

  it('segments and trains on plain NIfTI files: no truth, labels keep a non-trivial affine', async () => {
    const v = synthVolume(1, 2, 20);
    const affine = [[0, -1.5, 0, 30], [2, 0, 0, -12], [0, 0, 1.25, 7], [0, 0, 0, 1]];
    const file = join(dir, 'plain.nii.gz');
    await writeNifti(file, { shape: v.shape, spacing: [2, 1.5, 1.25], affine, data: Float32Array.from(v.image, (x) => 1000 * x + 50) });
    const out = join(dir, 'seg-plain');
    const r = hyperseg('segment', '--model', join(dir, 'full', 'model.safetensors'), '--input', file, '--out', out, '--k', '3', '--no-pictures');
    expect(r.code, r.stderr).toBe(0);
    const lab = await readNifti(join(out, 'plain', 'plain_k3.nii.gz'));
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(lab.affine[i][j]).toBeCloseTo(affine[i][j], 5);
    const e = hyperseg('evaluate', '--run', out);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/no ground truth/);
    // and trains on it: a user's own NIfTI file, intensities mapped to [0, 1]
    const run = join(dir, 'run-plain');
    const t = hyperseg('train', '--data', file, '--out', run, '--steps', '2', '--batch', '4', '--threads', '1');
    expect(t.code, t.stderr).toBe(0);
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(cfg.data).toMatchObject({ kind: 'nifti', train: ['plain'] });
    expect(existsSync(join(run, 'model.safetensors'))).toBe(true);
  }, 180_000);

  it('NaN/Inf voxels and oversized volumes are refused with a hint to the flags that admit them, which train and segment take', async () => {
    const v = synthVolume(1, 2, 20);
    const img = Float32Array.from(v.image);
    img[123] = Number.NaN;
    img[4567] = Number.POSITIVE_INFINITY;
    const file = join(dir, 'holes.nii.gz');
    await writeNifti(file, { shape: v.shape, spacing: [1, 1, 1], data: img });
    const run = join(dir, 'run-holes');
    const refused = hyperseg('train', '--data', file, '--out', run, '--steps', '1', '--batch', '4', '--threads', '1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/holes\.nii\.gz: 2 voxel\(s\) are NaN or Inf \(first at voxel \(3, 6, 0\)\)/);
    expect(refused.stderr).toMatch(/hint: .*--non-finite zero/);
    const t = hyperseg('train', '--data', file, '--out', run, '--steps', '1', '--batch', '4', '--threads', '1', '--non-finite', 'zero');
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).data.read).toEqual({ nonFinite: 'zero' });
    // resuming with the default reading named explicitly is a different reading, not "no flag"
    const other = hyperseg('train', '--resume', run, '--steps', '2', '--threads', '1', '--non-finite', 'error');
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/was trained with image reading \{"nonFinite":"zero"\}, not \{\}/);
    const out = join(dir, 'seg-holes');
    const s = hyperseg('segment', '--model', run, '--input', file, '--out', out, '--k', '2', '--no-pictures', '--non-finite', 'zero');
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'segment.json'), 'utf8')).data.read).toEqual({ nonFinite: 'zero' });
    const big = hyperseg('segment', '--model', run, '--input', file, '--out', join(dir, 'seg-big'), '--max-voxels', '1000', '--non-finite', 'zero');
    expect(big.code).toBe(1);
    expect(big.stderr).toMatch(/\[TOO_LARGE\].*holes\.nii\.gz: header claims 20×20×20 = 8000 voxels, above the limit of 1000/);
    expect(big.stderr).toMatch(/hint: .*--max-voxels N/);
  }, 120_000);

  it('a constant volume is segmented with a warning that names it', async () => {
    const file = join(dir, 'flat.nii.gz');
    await writeNifti(file, { shape: [12, 12, 12], spacing: [1, 1, 1], data: new Float32Array(12 ** 3).fill(0.5) });
    const out = join(dir, 'seg-flat');
    const r = hyperseg('segment', '--model', join(dir, 'full', 'model.safetensors'), '--input', file, '--out', out, '--k', '2,4', '--no-pictures');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/flat: the image is constant .*its clusters mean nothing/);
    for (const k of [2, 4]) expect(existsSync(join(out, 'flat', `flat_k${k}.nii.gz`))).toBe(true);
    // a non-constant volume gets no such warning
    const v = synthVolume(1, 2, 12);
    await writeNifti(join(dir, 'busy.nii.gz'), { shape: v.shape, spacing: [1, 1, 1], data: v.image });
    const busy = hyperseg('segment', '--model', join(dir, 'full', 'model.safetensors'), '--input', join(dir, 'busy.nii.gz'), '--out', join(dir, 'seg-busy'), '--k', '2', '--no-pictures');
    expect(busy.code, busy.stderr).toBe(0);
    expect(busy.stderr).not.toMatch(/constant|non-empty/);
  }, 120_000);

  it('segment with reuse returns an earlier segmentation of the same weights, inputs and settings, and redoes any other', async () => {
    const v = synthVolume(2, 3, 12);
    const file = join(dir, 'reuse.nii.gz');
    await writeNifti(file, { shape: v.shape, spacing: [1, 1, 1], data: v.image });
    const out = join(dir, 'seg-reuse');
    const model = join(dir, 'full', 'model.safetensors');
    const base = { model, input: [file], out, ks: [2], pictures: false, threads: 1, reuse: true };
    const json = () => readFileSync(join(out, 'segment.json'), 'utf8');
    const first = await segment(base);
    // the recorded hash is the file's, computed here by a second route (the whole file in memory)
    expect(first.model.sha256).toBe(createHash('sha256').update(readFileSync(model)).digest('hex'));
    const made = json();
    const logs: string[] = [];
    expect(await segment({ ...base, onLog: (l) => logs.push(l) })).toEqual(JSON.parse(made));
    expect(json()).toBe(made); // not rewritten (its timings would differ)
    expect(logs.join('\n')).toMatch(/reusing the segmentation made from the same weights \(sha256 [0-9a-f]{12}…\)/);
    // each of these changes what the labels would be, so each segments again
    const redo = async (change: Partial<typeof base> & { fitSample?: number; seed?: number; centroid?: 'mean' | 'median' }, what: string) => {
      const was = json();
      await segment({ ...base, ...change });
      expect(json(), what).not.toBe(was);
    };
    await redo({ ks: [2, 3] }, 'another k');
    await redo({ ks: [2, 3], fitSample: 500 }, 'another k-means sample');
    await redo({ ks: [2, 3], fitSample: 500, pictures: true }, 'pictures asked for, none there');
    const kept = json();
    await segment({ ...base, ks: [2, 3], fitSample: 500, pictures: false }); // a folder with pictures serves a run without
    expect(json()).toBe(kept);
    utimesSync(file, new Date(Date.now() + 5000), new Date(Date.now() + 5000)); // the input rewritten after it
    await redo({ ks: [2, 3], fitSample: 500, pictures: true }, 'an input newer than the segmentation');
    await redo({ ks: [2, 3], fitSample: 500, pictures: true, model: join(dir, 'extended', 'model.safetensors') }, 'other weights (one more step)');
    await redo({ ks: [2, 3], fitSample: 500, pictures: true, model: join(dir, 'extended', 'model.safetensors'), centroid: 'median' }, 'k-medians');
    expect(JSON.parse(json()).clustering.centroid).toBe('median');
  }, 120_000);

  it('segment --centroid median: the label volume is k-medians of the saved embeddings, every voxel with its nearest median', async () => {
    const v = synthVolume(4, 3, 12);
    const file = join(dir, 'medians.nii.gz');
    await writeNifti(file, { shape: v.shape, spacing: [1, 1, 1], data: v.image });
    const out = join(dir, 'seg-medians');
    const r = hyperseg('segment', '--model', join(dir, 'full', 'model.safetensors'), '--input', file, '--out', out, '--k', '3', '--centroid', 'median', '--fit-sample', '0', '--no-pictures', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(readFileSync(join(out, 'segment.json'), 'utf8'));
    expect(s.clustering.centroid).toBe('median');
    const c = s.cases[0];
    const emb = await readNpy(join(out, c.embeddings));
    const mu = Float32Array.from(emb.data as Float32Array);
    const labels = labelData(await readNifti(join(out, c.labels['3'])));
    // each cluster's median, solved alone (k = 1) from its voxels: every voxel is nearest its own
    const d = emb.shape[1];
    const medians: Float64Array[] = [];
    for (let j = 0; j < 3; j++) {
      const rows: number[] = [];
      labels.forEach((l, i) => {
        if (l === j) for (let t = 0; t < d; t++) rows.push(mu[i * d + t]);
      });
      expect(rows.length, `cluster ${j}`).toBeGreaterThan(0);
      medians.push(kmeans(Float64Array.from(rows), d, { k: 1, centroid: 'median', nInit: 1, frechetTol: 1e-12, frechetMaxIter: 10_000 }).centroids);
    }
    let wrong = 0;
    for (let i = 0; i < labels.length; i++) {
      const x = mu.subarray(i * d, (i + 1) * d);
      const ds = medians.map((m) => dist(x, m, 1));
      if (ds.indexOf(Math.min(...ds)) !== labels[i]) wrong++;
    }
    // the segmentation's own centres stop at k-means' tolerances (1e-6, 1e-9): a voxel on a boundary may flip
    expect(wrong / labels.length).toBeLessThan(2e-3);
    const bad = hyperseg('segment', '--model', join(dir, 'full', 'model.safetensors'), '--input', file, '--out', join(dir, 'seg-bad-centroid'), '--centroid', 'mode');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--centroid/);
  }, 120_000);

  it('a label file of a single value: its volume segmented, named as not scored; a volume without a surface: counted out of HD95, by number', async () => {
    const folder = join(dir, 'negatives');
    mkdirSync(folder);
    const spacing = [1, 1, 1] as const;
    const vols = { p: synthVolume(1, 6, 16), q: synthVolume(2, 6, 16), r: synthVolume(3, 6, 16) };
    for (const [name, v] of Object.entries(vols)) {
      await writeNifti(join(folder, `${name}.nii.gz`), { shape: v.shape, spacing, data: v.image });
      // q: a case without the structure (all background), which aborted segment and evaluate for the whole folder
      await writeNifti(join(folder, `${name}_seg.nii.gz`), { shape: v.shape, spacing, data: name === 'q' ? new Uint8Array(v.image.length) : v.labels[0] });
    }
    const out = join(dir, 'seg-negatives');
    const r = hyperseg('segment', '--model', join(dir, 'full', 'model.safetensors'), '--input', folder, '--out', out, '--k', '2', '--no-pictures');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/q: .*q_seg\.nii\.gz has a single label value \(0\).*not scored/);
    // r's prediction made empty: after matching, no voxel is called cell, so it has no surface to measure
    const s = JSON.parse(readFileSync(join(out, 'segment.json'), 'utf8')) as { cases: { id: string; labels: Record<string, string> }[] };
    const rFile = join(out, s.cases.find((c) => c.id === 'r')?.labels['2'] ?? '');
    await writeNifti(rFile, { shape: vols.r.shape, spacing, data: new Uint8Array(vols.r.image.length) });
    const e = hyperseg('evaluate', '--run', out, '--json');
    expect(e.code, e.stderr).toBe(0);
    const rep = JSON.parse(e.stdout) as { skipped: { id: string; reason: string }[]; cases: { id: string; hd95: number | null; surfaceStatus: string }[]; aggregates: { target: string; cases: number; noSurface: number; hd95: { mean: number; n: number } }[] };
    expect(rep.skipped.map((x) => x.id)).toEqual(['q']);
    expect(rep.cases.map((c) => c.id)).toEqual(['p', 'r']);
    expect(rep.cases[1]).toMatchObject({ hd95: null, surfaceStatus: 'empty-prediction' }); // Infinity in JSON is null
    const agg = rep.aggregates.find((a) => a.target === 'truth');
    // the mean HD95 is p's alone, and says so (it printed a mean "over volumes" of one, as if of two)
    expect(agg).toMatchObject({ cases: 2, noSurface: 1, hd95: { n: 1 } });
    expect(agg?.hd95.mean).toBe(rep.cases[0].hd95);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain(`| ${(rep.cases[0].hd95 as number).toFixed(3)} (1 of 2) |`);
    expect(md).toMatch(/Not scored \(1 of 3 volumes\): q: .*single label value/);
    expect(md).toMatch(/\| r \|.*HD95 — \(empty-prediction\)/);
    const plain = hyperseg('evaluate', '--run', out);
    expect(plain.stdout).toMatch(/not scored: q: /);
    // options of --pred/--truth are refused with --run (accepted and ignored before); --max-voxels is used
    const flagged = hyperseg('evaluate', '--run', out, '--hungarian', '--classes', '0,1');
    expect(flagged.code).toBe(2);
    expect(flagged.stderr).toMatch(/--classes, --hungarian apply to --pred\/--truth/);
    const capped = hyperseg('evaluate', '--run', out, '--max-voxels', '100');
    expect(capped.code).toBe(1);
    expect(capped.stderr).toMatch(/16×16×16 = 4096 voxels, above the limit of 100/);
  }, 120_000);

  it('plain NIfTI files with label files beside them: paired, not trained on, segmented with the truth\'s k and scored', async () => {
    const folder = join(dir, 'labelled');
    mkdirSync(folder);
    const spacing = [1, 1, 1] as const;
    const a = synthVolume(1, 2, 20);
    const b = synthVolume(2, 2, 20);
    const c = synthVolume(3, 2, 20);
    for (const [name, v] of [['a', a], ['b', b], ['c', c]] as const) await writeNifti(join(folder, `${name}.nii.gz`), { shape: v.shape, spacing, data: v.image });
    // a: binary truth with values 0 and 5 (the cell); b: three values by intensity (k = 3)
    const aTruth = Uint8Array.from(a.labels[0], (x) => 5 * x);
    await writeNifti(join(folder, 'a_seg.nii.gz'), { shape: a.shape, spacing, data: aTruth });
    const bTruth = Uint8Array.from(b.image, (x) => (x < 0.3 ? 1 : x < 0.6 ? 2 : 3));
    await writeNifti(join(folder, 'b_labels.nii.gz'), { shape: b.shape, spacing, data: bTruth });

    const out = join(dir, 'seg-labelled');
    const r = hyperseg('segment', '--model', join(dir, 'full', 'model.safetensors'), '--input', folder, '--out', out, '--no-pictures', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(readFileSync(join(out, 'segment.json'), 'utf8')) as { ks: number[]; cases: { id: string; files: string[]; labels: Record<string, string> }[] };
    expect(s.cases.map((x) => x.id)).toEqual(['a', 'b', 'c']); // the label files are not volumes
    expect(s.cases[0].files).toEqual([join(folder, 'a.nii.gz'), join(folder, 'a_seg.nii.gz')]);
    expect(s.cases.map((x) => Object.keys(x.labels).map(Number).sort((p, q) => p - q))).toEqual([[2, 4, 8], [2, 3, 4, 8], [2, 4, 8]]);
    expect(s.ks).toEqual([2, 3, 4, 8]);

    // c's truth: a relabelling of its own k = 4 clusters (values 3, 13, 23, 33), so the matching must give Dice 1
    const c4 = labelData(await readNifti(join(out, s.cases[2].labels['4'])));
    await writeNifti(join(folder, 'c_gt.nii.gz'), { shape: c.shape, spacing, data: Uint8Array.from(c4, (x) => 10 * x + 3) });
    const e = hyperseg('evaluate', '--run', out, '--json');
    expect(e.code, e.stderr).toBe(0);
    const rep = JSON.parse(e.stdout) as { cases: { id: string; target: string; k: number; meanDice: number; focusDice?: number; hd95?: number }[] };
    const byId = (id: string) => rep.cases.filter((x) => x.id === id);
    expect(byId('c')).toMatchObject([{ target: 'truth', k: new Set(c4).size, meanDice: 1 }]);
    // a (binary): mean Dice over {0, 5} after matching, and the foreground's, computed here
    const a2 = labelData(await readNifti(join(out, s.cases[0].labels['2'])));
    const diceOf = (pred: ArrayLike<number>, truth: ArrayLike<number>) => {
      let inter = 0;
      let np = 0;
      let nt = 0;
      for (let i = 0; i < truth.length; i++) {
        if (pred[i]) np++;
        if (truth[i]) nt++;
        if (pred[i] && truth[i]) inter++;
      }
      return (2 * inter) / (np + nt);
    };
    const fg = aTruth.map((x) => (x === 5 ? 1 : 0));
    const bg = aTruth.map((x) => (x === 0 ? 1 : 0));
    const options = [0, 1].map((cell) => {
      const p = Uint8Array.from(a2, (x) => (x === cell ? 1 : 0));
      return { fg: diceOf(p, fg), mean: (diceOf(p, fg) + diceOf(p.map((x) => 1 - x), bg)) / 2, overlap: p.reduce((acc, x, i) => acc + (x === fg[i] ? 1 : 0), 0) };
    });
    const matched = options[0].overlap >= options[1].overlap ? options[0] : options[1]; // maximum overlap, as Hungarian
    const [ra] = byId('a');
    expect(ra).toMatchObject({ target: 'truth', k: 2 });
    expect(ra.meanDice).toBeCloseTo(matched.mean, 12);
    expect(ra.focusDice).toBeCloseTo(matched.fg, 12);
    expect(Number.isFinite(ra.hd95)).toBe(true);
    expect(byId('b')).toMatchObject([{ target: 'truth', k: 3 }]);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| Method \| Average-class Dice \(k = 2\) \| Foreground Dice \| HD95 \(mm\) \| ASSD \(mm\) \| Average-class Dice \(k = 3\) \| Average-class Dice \(k = 4\) \|/);

    // training on the folder uses the images only
    const run = join(dir, 'run-labelled');
    const t = hyperseg('train', '--data', folder, '--out', run, '--steps', '1', '--batch', '2', '--threads', '1');
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).data).toMatchObject({ kind: 'nifti', train: ['a', 'b', 'c'] });

    // a label file without its image, two for one image, a shape that differs: each named (a single value
    // is a volume not scored: see the test above)
    const bad = (name: string, files: [string, Uint8Array | Float32Array, readonly [number, number, number]][], message: RegExp) => async () => {
      const f = join(dir, name);
      mkdirSync(f);
      for (const [file, values, shape] of files) await writeNifti(join(f, file), { shape, spacing, data: values });
      const x = hyperseg('segment', '--model', join(dir, 'full', 'model.safetensors'), '--input', f, '--out', join(dir, `${name}-out`), '--no-pictures');
      expect(x.code).toBe(1);
      expect(x.stderr).toMatch(message);
    };
    const img = a.image;
    await bad('orphan', [['a.nii.gz', img, a.shape], ['z_seg.nii.gz', aTruth, a.shape]], /z_seg\.nii\.gz: a label file with no image z\.nii or z\.nii\.gz beside it/)();
    await bad('twice', [['a.nii.gz', img, a.shape], ['a_seg.nii.gz', aTruth, a.shape], ['a_gt.nii.gz', aTruth, a.shape]], /two label files for a: .*a_gt\.nii\.gz and .*a_seg\.nii\.gz/)();
    await bad('shape', [['a.nii.gz', img, a.shape], ['a_seg.nii.gz', aTruth.subarray(0, 20 * 20 * 19), [20, 20, 19]]], /a_seg\.nii\.gz has shape 20×20×19, its image 20×20×20/)();
  }, 240_000);

  it('refuses a corrupt weights file, naming it', () => {
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, Buffer.from([1, 2, 3]));
    const r = hyperseg('segment', '--model', bad, '--input', data, '--out', join(dir, 'seg-bad'), '--preset', 'small');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.safetensors/);
    // cut short: said as such (it read "tensor encoder.1.weight: data_offsets [...] do not match shape [...]", which they did)
    const whole = readFileSync(join(dir, 'full', 'model.safetensors'));
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, whole.subarray(0, 5000));
    const t = hyperseg('segment', '--model', cut, '--input', data, '--out', join(dir, 'seg-cut'));
    expect(t.code).toBe(1);
    expect(t.stderr).toContain(`FILE_TRUNCATED]: ${cut}: truncated: the file holds 5000 bytes, its header describes ${whole.length}`);
  });
});

describe('dense path through the pipeline', () => {
  let backend: TorchBackend;
  beforeAll(async () => {
    backend = await TorchBackend.start({ threads: 1 });
    await backend.init({ preset: 'small' }, 3);
  }, 60_000);
  afterAll(async () => backend.close());

  it('equals the per-patch definition in slabs of z-planes (small preset, p = 5)', async () => {
    const v = synthVolume(2, 1, 20);
    const grid = { data: v.image.slice(0, 20 * 20 * 9), shape: [20, 20, 9] as [number, number, number] };
    const cfg = resolveModelConfig({ preset: 'small' });
    const dense = await embedVolume(backend, grid, cfg, { path: 'dense', slabMB: 16 / 1024 }); // forces slabs of one plane
    expect(dense.slabs).toBe(9);
    const whole = await embedVolume(backend, grid, cfg, { path: 'dense' });
    expect(whole.slabs).toBe(1);
    const patch = await embedVolume(backend, grid, cfg, { path: 'per-patch', batch: 700 });
    let maxSlab = 0;
    let maxPatch = 0;
    for (let i = 0; i < patch.mu.length; i++) {
      maxSlab = Math.max(maxSlab, Math.abs(dense.mu[i] - whole.mu[i]));
      maxPatch = Math.max(maxPatch, Math.abs(dense.mu[i] - patch.mu[i]));
    }
    expect(maxSlab).toBeLessThan(1e-6);
    expect(maxPatch).toBeLessThan(1e-5); // float32 sums in another order
  }, 120_000);
});

describe('bench segment (CLI)', () => {
  it('counts multiply-adds of both paths like a hand count', () => {
    // valid: 10³ → 8³, 6³, 4³, 2³ (kernel 3), channels 1→16→32→64→128, head 2³·128 → 2.
    const valid = resolveModelConfig({ preset: 'valid' });
    expect(patchMacs(valid)).toBe(8 ** 3 * 16 * 27 + 6 ** 3 * 16 * 32 * 27 + 4 ** 3 * 32 * 64 * 27 + 2 ** 3 * 64 * 128 * 27 + 2 ** 3 * 128 * 2);
    // dense, 50³ at p = 5: 49·2 + 10 = 108 samples a side, then 106, 104, 102, 100; the head once per voxel.
    const dense = (106 ** 3 * 16 * 27 + 104 ** 3 * 16 * 32 * 27 + 102 ** 3 * 32 * 64 * 27 + 100 ** 3 * 64 * 128 * 27) / 50 ** 3 + 8 * 128 * 2;
    expect(denseMacsPerVoxel(valid, 50, 5)).toBeCloseTo(dense, 3);
    expect(patchMacs(valid) / dense).toBeCloseTo(3.595, 3);
    // paper: 'same' padding keeps 108 a side at every layer (dilated after the strides); sizes 10, 10, 5, 5, 3.
    const paper = resolveModelConfig({ preset: 'paper' });
    expect(patchMacs(paper)).toBe(1000 * 16 * 125 + 125 * 16 * 32 * 125 + 125 * 32 * 64 * 125 + 27 * 64 * 128 * 125 + 27 * 128 * 2);
    expect(denseMacsPerVoxel(paper, 50, 5)).toBeCloseTo((108 ** 3 * 125 * (16 + 16 * 32 + 32 * 64 + 64 * 128)) / 50 ** 3 + 27 * 128 * 2, 3);
  });

  it('prints both paths on the same weights, with equal embeddings and labels', () => {
    const r = hyperseg('bench', 'segment', '--preset', 'small', '--planes', '2', '--no-brats', '--threads', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.maxAbsDifference).toBeLessThan(1e-5);
    expect(j.labelAgreement).toBeGreaterThan(0.99);
    expect(j.dense.voxelsPerSecond).toBeGreaterThan(0);
    expect(j.perPatch.voxels).toBe(50 * 50 * 2);
    expect(j.macs.bound).toBeCloseTo(j.macs.perPatch / j.macs.dense, 9);
    expect(j.patchAtATime.voxels).toBe(500);
    expect(j.speedupOverPatchAtATime).toBeCloseTo(j.dense.voxelsPerSecond / j.patchAtATime.voxelsPerSecond, 6);
    // the worker's forward calls are a part of each request's round trip
    expect(j.patchAtATime.computeSeconds).toBeGreaterThan(0);
    expect(j.patchAtATime.computeSeconds).toBeLessThan(j.patchAtATime.seconds);
    expect(j.speedupOverPatchAtATimeCompute).toBeCloseTo(j.dense.voxelsPerSecond / (500 / j.patchAtATime.computeSeconds), 6);
    expect(j.macs.perPatch).toBe(patchMacs(resolveModelConfig({ preset: 'small' })));
  }, 120_000);
});

describe('quickstart and BraTS-layout data (CLI)', () => {
  it('quickstart runs the whole job and re-running continues from what exists', () => {
    const out = join(dir, 'qs');
    const r = hyperseg('quickstart', '--out', out, '--count', '6', '--steps', '4', '--batch', '8', '--threads', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/level1 \(k = 2\): \d\.\d{3}/);
    expect(r.stdout).toMatch(/report: /);
    const q = JSON.parse(readFileSync(join(out, 'quickstart.json'), 'utf8'));
    expect(q.aggregates.map((a: { target: string }) => a.target).sort()).toEqual(['level1', 'level2', 'level3']);
    expect(existsSync(q.montage)).toBe(true);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/Level 3 \(k = 8\)/);
    // the baselines sit in the report's table, below the model, with the same figures as quickstart.json
    expect(q.baselines.map((b: { method: string }) => b.method)).toEqual(['k-means on raw intensities', 'k-means on 3³ box means of intensity', 'k-means on 5³ box means of intensity']);
    // six volumes leave one test volume: a score over one volume has no spread, so no "± 0.000" anywhere
    expect(q.aggregates.map((a: { cases: number; dice: { n: number } }) => [a.cases, a.dice.n])).toEqual([[1, 1], [1, 1], [1, 1]]);
    for (const b of q.baselines as { method: string; aggregates: { dice: { mean: number; sd: number } }[] }[]) {
      expect(md).toContain(`| ${b.method} | ${b.aggregates.map((a) => a.dice.mean.toFixed(3)).join(' | ')} |`);
    }
    expect(md).not.toMatch(/±/);
    expect(r.stdout).not.toMatch(/±/);
    expect(r.stdout).toMatch(/k-means on raw intensities: \d\.\d{3} \/ \d\.\d{3} \/ \d\.\d{3}/);
    // the quickstart trains with the sampler's intensity jitter, recorded in its run; a re-run asking for another is refused
    expect(r.stderr).toMatch(/4 steps of 8 triplets, intensity jitter: gain ±0\.15, offset ±0\.5 sd, 1 torch thread\)/);
    expect(JSON.parse(readFileSync(join(out, 'segmentation', 'segment.json'), 'utf8')).backend.threads).toBe(1);
    expect(JSON.parse(readFileSync(join(out, 'run', 'config.json'), 'utf8')).sampler.jitter).toEqual([0.15, 0.5]);
    const other = hyperseg('quickstart', '--out', out, '--count', '6', '--threads', '1', '--intensity-jitter', '0,0');
    expect(other.code).toBe(2); // INVALID_ARGUMENT
    expect(other.stderr).toMatch(/was trained with sampler's jitter \[0\.15,0\.5\], not \[0,0\]/);
    // run again as "run the same command" may well be remembered: without --steps and --batch (their
    // defaults, 1,500 and 32, were taken as asked for, and the run of batch 8 refused)
    const again = hyperseg('quickstart', '--out', out, '--count', '6', '--threads', '1', '--intensity-jitter', '0.15,0.5'); // the run's own: taken
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/reusing the synthetic data/);
    expect(again.stderr).toMatch(/resuming/);
    expect(again.stderr).toMatch(/reusing the segmentation made from the same weights/); // the model did not change
    const q2 = JSON.parse(readFileSync(join(out, 'quickstart.json'), 'utf8'));
    expect(q2.aggregates).toEqual(q.aggregates);
    // the training figures are the run's own, not zeros written over them: the tail is the mean of the last
    // ceil(4/10) = 1 logged step, recomputed here from metrics.jsonl
    const lastStep = JSON.parse(readFileSync(join(out, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1) as string);
    expect(q2.train.tail.loss).toBeCloseTo(lastStep.loss, 10);
    expect(q2.train.tail.loss).toBeCloseTo(q.train.tail.loss, 10);
    expect(q2.train.stepsPerSecond).toBeGreaterThan(0);
    // --centroid median re-clusters the same model's embeddings (no training) with k-medians; without
    // --threads the quickstart's worker runs QUICKSTART_THREADS = 2 torch threads whatever the core count
    const medians = hyperseg('quickstart', '--out', out, '--count', '6', '--centroid', 'median');
    expect(medians.code, medians.stderr).toBe(0);
    expect(medians.stderr).toMatch(/k = 2, 4, 8, k-medians/);
    expect(medians.stderr).not.toMatch(/reusing the segmentation/);
    const medianSeg = JSON.parse(readFileSync(join(out, 'segmentation', 'segment.json'), 'utf8'));
    expect(medianSeg.clustering.centroid).toBe('median');
    expect(medianSeg.backend.threads).toBe(2);
    // and its baselines with it, named so
    expect(medians.stdout).toMatch(/k-medians on raw intensities: \d\.\d{3} \/ \d\.\d{3} \/ \d\.\d{3}/);
    expect(JSON.parse(readFileSync(join(out, 'baselines', 'baseline-box3', 'segment.json'), 'utf8')).clustering.centroid).toBe('median');
    expect(readFileSync(join(out, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(4);
  }, 240_000);

  it('trains, segments (k = 3) and scores whole-tumour Dice and HD95 on BraTS-layout phantoms', () => {
    const b = join(dir, 'brats');
    expect(hyperseg('synth', '--kind', 'brats-phantom', '--out', b, '--count', '3', '--shape', '40x40x28').code).toBe(0);
    const run = join(dir, 'brats-run');
    const t = hyperseg('train', '--data', b, '--out', run, '--steps', '3', '--batch', '8', '--threads', '1');
    expect(t.code, t.stderr).toBe(0);
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(cfg.data.kind).toBe('brats');
    expect(cfg.sampler.scale).toBe('log');
    const out = join(dir, 'brats-seg');
    const s = hyperseg('segment', '--model', run, '--input', b, '--out', out, '--k', '3', '--split', 'all', '--no-pictures');
    expect(s.code, s.stderr).toBe(0);
    const e = hyperseg('evaluate', '--run', out, '--json');
    expect(e.code, e.stderr).toBe(0);
    const rep = JSON.parse(e.stdout);
    const wt = rep.aggregates.find((a: { target: string }) => a.target === 'whole-tumour');
    expect(wt.cases).toBe(3);
    expect(wt.focusDice.mean).toBeGreaterThanOrEqual(0);
    expect(wt.focusDice.mean).toBeLessThanOrEqual(1);
    expect(rep.cases[0].surfaceStatus).toBeDefined();
  }, 240_000);

  it('segment splits a BraTS-layout folder as the run did: its test volumes are none of the run\'s training volumes', () => {
    const b = join(dir, 'brats12');
    expect(hyperseg('synth', '--kind', 'brats-phantom', '--out', b, '--count', '12', '--shape', '24x24x24').code).toBe(0);
    const run = join(dir, 'brats12-run');
    const t = hyperseg('train', '--data', b, '--out', run, '--seed', '5', '--steps', '1', '--batch', '2', '--threads', '1');
    expect(t.code, t.stderr).toBe(0);
    const trained = new Set<string>(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).data.train as string[]); // case ids
    expect(trained.size).toBeGreaterThan(0);
    const segmented = (out: string, ...flags: string[]) => {
      const r = hyperseg('segment', '--model', run, '--input', b, '--out', out, '--k', '3', '--no-pictures', '--json', ...flags);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { cases: { id: string }[]; data: { splitSeed?: number } };
    };
    const own = segmented(join(dir, 'brats12-seg'));
    expect(own.data.splitSeed).toBe(5);
    expect(own.cases.length).toBeGreaterThan(0);
    expect(own.cases.filter((c) => trained.has(c.id))).toEqual([]); // split by the k-means seed (0) before: training volumes among them
    // --split-seed picks another split on purpose (here one that holds training volumes of this run)
    const other = segmented(join(dir, 'brats12-seg0'), '--split-seed', '0');
    expect(other.data.splitSeed).toBe(0);
    expect(other.cases.filter((c) => trained.has(c.id)).length).toBeGreaterThan(0);
  }, 240_000);
});
