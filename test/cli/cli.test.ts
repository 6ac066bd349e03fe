import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ballMixture } from '../../src/bench/ball-mixture.js';
import { encodeNifti, writeNifti } from '../../src/data/nifti.js';
import { parseNpy, writeNpy } from '../../src/data/npy.js';
import { dist } from '../../src/geometry/poincare.js';
import { hyperseg } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

describe('hyperseg cluster', () => {
  const mix = ballMixture(3000, 4, 2, 3, { radius: 2.5 });

  it('clusters a float32 .npy file and writes labels atomically (.npy)', async () => {
    const emb = join(dir, 'emb.npy');
    await writeNpy(emb, Float32Array.from(mix.points), [3000, 2]);
    const out = join(dir, 'labels.npy');
    const r = hyperseg('cluster', '--embeddings', emb, '--k', '4', '--seed', '3', '--n-init', '3', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: true, n: 3000, d: 2, k: 4, geometry: 'poincare', converged: true });
    expect(j.counts.reduce((a: number, b: number) => a + b, 0)).toBe(3000);
    expect(j.inertias).toHaveLength(3);
    const labels = parseNpy(readFileSync(out));
    expect(labels.dtype).toBe('int32');
    expect(labels.shape).toEqual([3000]);
    // 4 well-separated clusters: every true cluster maps onto one label
    for (let t = 0; t < 4; t++) {
      const seen = new Set<number>();
      for (let i = t; i < 3000; i += 4) seen.add((labels.data as Int32Array)[i]);
      expect(seen.size).toBe(1);
    }
  });

  it('clusters a .csv file with the Euclidean geometry and prints a human summary', () => {
    const csv = join(dir, 'emb.csv');
    const rows = ['x,y'];
    for (let i = 0; i < 200; i++) rows.push(`${mix.points[2 * i] * 5},${mix.points[2 * i + 1] * 5}`);
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const out = join(dir, 'labels.txt');
    const r = hyperseg('cluster', '--embeddings', csv, '--k', '4', '--geometry', 'euclidean', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/200 points × 2 dims, k = 4, geometry euclidean/);
    expect(r.stdout).toMatch(/inertia [\d.e+-]+ after \d+ iterations/);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(200);
  });

  it('--centroid median: k-medians, its inertia the summed Poincaré distances recomputed here, on one ball and on a product of balls', async () => {
    const emb = join(dir, 'emb-med.npy');
    await writeNpy(emb, Float64Array.from(mix.points), [3000, 2]);
    const out = join(dir, 'labels-med.npy');
    const r = hyperseg('cluster', '--embeddings', emb, '--k', '4', '--centroid', 'median', '--n-init', '2', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: true, k: 4, centroid: 'median', converged: true });
    const labels = parseNpy(readFileSync(out)).data as Int32Array;
    let s = 0;
    for (let i = 0; i < 3000; i++) s += dist(mix.points.subarray(2 * i, 2 * i + 2), j.centroids[labels[i]], 1);
    expect(Math.abs(j.inertia - s) / s).toBeLessThan(1e-9);
    // a product of balls (each row's two coordinates as two 1-D balls): inertia Σ √(d₁² + d₂²)
    const product = hyperseg('cluster', '--embeddings', emb, '--k', '2', '--centroid', 'median', '--factors', '2', '--out', out, '--json');
    expect(product.code, product.stderr).toBe(0);
    const pj = JSON.parse(product.stdout);
    const pl = parseNpy(readFileSync(out)).data as Int32Array;
    let ps = 0;
    for (let i = 0; i < 3000; i++) {
      const [a, b] = mix.points.subarray(2 * i, 2 * i + 2);
      const cc = pj.centroids[pl[i]];
      ps += Math.hypot(dist([a], [cc[0]], 1), dist([b], [cc[1]], 1));
    }
    expect(Math.abs(pj.inertia - ps) / ps).toBeLessThan(1e-9);
  });

  it('rejects bad flags with exit code 2 and bad data with exit code 1, naming the problem', async () => {
    const emb = join(dir, 'emb.npy');
    let r = hyperseg('cluster', '--embeddings', emb, '--k', 'three');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--k must be an integer/);
    r = hyperseg('cluster', '--embeddings', emb, '--k', '2', '--geometry', 'spherical');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--geometry must be one of poincare, euclidean/);
    r = hyperseg('cluster', '--embeddings', emb, '--k', '5000');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/k = 5000 exceeds the number of points N = 3000/);
    r = hyperseg('cluster', '--k', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required option '--embeddings <file>' not specified/);
    r = hyperseg('cluster', '--embeddings', join(dir, 'missing.npy'), '--k', '2');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing.npy: cannot read file \(ENOENT\)/);
    const outside = join(dir, 'outside.npy');
    await writeNpy(outside, Float64Array.from([0.1, 0.1, 1.5, 0]), [2, 2]);
    r = hyperseg('cluster', '--embeddings', outside, '--k', '1', '--json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/point 1 lies outside the Poincaré ball/);
    expect(r.stderr).toMatch(/hint: pass --geometry euclidean/);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'OUT_OF_BALL' } });
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace without --verbose
    // no points, or points of no dimension: bad data in a named file (was exit 2, "dimension d must be a positive integer")
    for (const [name, shape] of [['empty.npy', [0, 2]], ['zero-d.npy', [200, 0]]] as const) {
      const f = join(dir, name);
      await writeNpy(f, new Float32Array(0), [...shape]);
      r = hyperseg('cluster', '--embeddings', f, '--k', '3');
      expect(r.code, name).toBe(1);
      expect(r.stderr).toContain(`INVALID_INPUT]: ${f}: no embeddings to cluster (${shape[0]} points × ${shape[1]} dimensions)`);
    }
    const nan = join(dir, 'nan.npy');
    await writeNpy(nan, Float32Array.from([0.1, 0.1, NaN, 0]), [2, 2]);
    r = hyperseg('cluster', '--embeddings', nan, '--k', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${nan}: point 1 has a non-finite coordinate`);
    const notNpy = join(dir, 'bad.npy');
    writeFileSync(notNpy, 'garbage');
    r = hyperseg('cluster', '--embeddings', notNpy, '--k', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad.npy: not a .npy file/);
  });
});

describe('hyperseg evaluate', () => {
  const shape = [12, 10, 8] as const;
  const spacing = [0.8, 1.2, 2.0] as const;
  const idx = (x: number, y: number, z: number) => x + 12 * (y + 10 * z);
  const truth = new Int16Array(960);
  const pred = new Int16Array(960);
  for (let z = 2; z < 6; z++) for (let y = 2; y < 7; y++) for (let x = 2; x < 8; x++) truth[idx(x, y, z)] = 1;
  for (let z = 2; z < 6; z++) for (let y = 2; y < 7; y++) for (let x = 3; x < 9; x++) pred[idx(x, y, z)] = 1;

  it('binary task: Dice, IoU, HD, HD95, ASSD in physical units', async () => {
    const p = join(dir, 'pred.nii.gz');
    const t = join(dir, 'truth.nii');
    await writeNifti(p, { shape, spacing, data: pred });
    await writeNifti(t, { shape, spacing, data: truth });
    const r = hyperseg('evaluate', '--pred', p, '--truth', t, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    // boxes 6×5×4 shifted by one voxel in x: intersection 5×5×4 = 100 of 120 each
    const fg = j.classes.find((c: { label: number }) => c.label === 1);
    expect(fg.dice).toBeCloseTo(100 / 120, 12);
    expect(fg.iou).toBeCloseTo(100 / 140, 12);
    // the faces x = 2 (truth) and x = 8 (pred) are one x-step (0.8) from the other surface
    expect(j.surface['1'].hd).toBeCloseTo(0.8, 6);
    expect(j.surface['1'].status).toBe('ok');
    expect(j.binary).toBe(true);
  });

  it('multi-class with --hungarian: permuted cluster ids score Dice 1; --classes restricts the classes', async () => {
    const t3 = Int16Array.from(truth, (v, i) => (v ? 1 : i % 12 < 6 ? 0 : 2));
    const p3 = Int16Array.from(t3, (v) => [5, 9, 7][v]);
    const p = join(dir, 'p3.nii');
    const t = join(dir, 't3.nii');
    await writeNifti(p, { shape, spacing, data: p3 });
    await writeNifti(t, { shape, spacing, data: t3 });
    let r = hyperseg('evaluate', '--pred', p, '--truth', t, '--hungarian', '--json');
    expect(r.code, r.stderr).toBe(0);
    let j = JSON.parse(r.stdout);
    expect(j.meanDice).toBe(1);
    expect(j.mapping).toEqual({ '5': 0, '7': 2, '9': 1 });
    expect(j.surface).toBeUndefined();
    r = hyperseg('evaluate', '--pred', p, '--truth', t, '--hungarian', '--classes', '0,1,3', '--json');
    j = JSON.parse(r.stdout);
    expect(j.valid).toBe(2); // class 3 is absent from the truth: reported, skipped by the mean
    expect(j.classes.find((c: { label: number }) => c.label === 3).dice).toBeNull();
    r = hyperseg('evaluate', '--pred', p, '--truth', t, '--hungarian');
    expect(r.stdout).toMatch(/mean dice 1.0000 {2}mean iou 1.0000 {2}over 3 class\(es\)/);
  });

  it('a class only in the prediction is listed, with an empty-truth surface (it was not shown at all), and left out of the mean', async () => {
    const p = join(dir, 'fp-pred.nii');
    const t = join(dir, 'fp-truth.nii');
    await writeNifti(p, { shape, spacing, data: pred }); // a 6×5×4 box of 1s
    await writeNifti(t, { shape, spacing, data: new Int16Array(960) }); // nothing there
    const r = hyperseg('evaluate', '--pred', p, '--truth', t, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.classes.map((c: { label: number; predVoxels: number; valid: boolean }) => [c.label, c.predVoxels, c.valid])).toEqual([[0, 960 - 120, true], [1, 120, false]]);
    expect(j.meanDice).toBeCloseTo((2 * (960 - 120)) / (960 + 960 - 120), 12); // class 0 alone: its Dice
    expect(j.surface['1'].status).toBe('empty-truth');
    const plain = hyperseg('evaluate', '--pred', p, '--truth', t);
    expect(plain.stdout).toMatch(/^1 +n\/a +n\/a +0 +120 +\(absent from truth: skipped\)$/m);
    expect(plain.stdout).toMatch(/^class 1: HD inf .*\[empty-truth\]$/m);
  });

  it('refuses a prediction stored with another orientation (flipped x: the same index is another place), warns of another origin', async () => {
    const flipped = Int16Array.from(pred, (_v, i) => {
      const x = i % 12;
      return pred[i - x + (11 - x)];
    });
    const t = join(dir, 'or-truth.nii');
    const f = join(dir, 'or-flipped.nii');
    const moved = join(dir, 'or-moved.nii');
    const affine = [[0.8, 0, 0, -4], [0, 1.2, 0, 2], [0, 0, 2, 7], [0, 0, 0, 1]];
    await writeNifti(t, { shape, spacing, affine, data: pred });
    // the same object, stored x-reversed with an affine that says so: physically identical, index-wise not
    await writeNifti(f, { shape, spacing, affine: [[-0.8, 0, 0, -4 + 11 * 0.8], [0, 1.2, 0, 2], [0, 0, 2, 7], [0, 0, 0, 1]], data: flipped });
    let r = hyperseg('evaluate', '--pred', f, '--truth', t);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/or-flipped.nii and .*or-truth.nii are oriented differently/);
    expect(r.stderr).toMatch(/resample the prediction onto the truth's grid/);
    await writeNifti(moved, { shape, spacing, affine: [[0.8, 0, 0, 0], [0, 1.2, 0, 2], [0, 0, 2, 7], [0, 0, 0, 1]], data: pred });
    r = hyperseg('evaluate', '--pred', moved, '--truth', t);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: the affines differ \(origin\)/);
    expect(r.stdout).toMatch(/mean dice 1\.0000/);
  });

  it('rejects mismatched shapes, bad files and bad flags with a clear message and non-zero exit', async () => {
    const t = join(dir, 'truth.nii');
    const small = join(dir, 'small.nii');
    await writeNifti(small, { shape: [2, 2, 2], data: new Int16Array(8) });
    let r = hyperseg('evaluate', '--pred', small, '--truth', t);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/small.nii has shape 2×2×2 but .*truth.nii has shape 12×10×8/);
    const trunc = join(dir, 'trunc.nii.gz');
    const { gzipSync } = await import('node:zlib');
    writeFileSync(trunc, gzipSync(encodeNifti({ shape, data: truth })).subarray(0, 80));
    r = hyperseg('evaluate', '--pred', trunc, '--truth', t);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/trunc.nii.gz: (gzip stream ends early|expected \d+ bytes of voxel data)/);
    const img = join(dir, 'image.nii');
    await writeNifti(img, { shape, data: Float32Array.from(truth, (v) => v + 0.25) });
    r = hyperseg('evaluate', '--pred', img, '--truth', t);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/expected an integer label/);
    r = hyperseg('evaluate', '--pred', t, '--truth', t, '--classes', 'a,b');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--classes must be a comma-separated list of integers/);
    r = hyperseg('evaluate', '--pred', t, '--truth', t, '--surface', 'sometimes');
    expect(r.code).toBe(2);
    r = hyperseg('evaluate', '--pred', t, '--truth', t, '--bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--bogus'/);
    expect(existsSync(join(dir, 'nothing-written'))).toBe(false);
  });
});

describe('hyperseg bench clustering (small, to prove the command runs; figures come from the full run)', () => {
  it('prints ours vs naive per-iteration times and equal inertia', () => {
    const r = hyperseg('bench', 'clustering', '--n', '3000', '--n-init', '2', '--iterations', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.n).toBe(3000);
    expect(j.inertiaRelativeDifference).toBeLessThan(0.01);
    expect(j.ours.secondsPerIteration).toBeGreaterThan(0);
    expect(j.naive.secondsPerIteration).toBeGreaterThan(0);
  });
});

describe('hyperseg --help and --version', () => {
  it('exit 0 and list the commands', () => {
    const r = hyperseg('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cluster/);
    expect(r.stdout).toMatch(/evaluate/);
    expect(hyperseg('--version').stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(hyperseg('nonsense').code).toBe(2);
  });
});

describe('hyperseg bench sampler (short run, to prove the command works)', () => {
  it('reports ours and the baseline on the same boxes', () => {
    const r = hyperseg('bench', 'sampler', '--seconds', '1', '--batch', '16', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.m).toBe(10);
    expect(j.ours.tripletsPerSecond).toBeGreaterThan(0);
    expect(j.naive.tripletsPerSecond).toBeGreaterThan(0);
    expect(j.speedup).toBeCloseTo(j.ours.tripletsPerSecond / j.naive.tripletsPerSecond, 6);
  });
});

describe('hyperseg bench transport / train (short runs against a real worker)', () => {
  it('transport reports MB/s for both methods per size', () => {
    const r = hyperseg('bench', 'transport', '--sizes', '0.25,1', '--seconds', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.rows).toHaveLength(2);
    for (const row of j.rows) {
      expect(row.transportMBps).toBeGreaterThan(0);
      expect(row.ratio).toBeCloseTo(row.transportMBps / row.memcpyMBps, 6);
    }
  }, 120_000);

  it('train reports TypeScript-driven and Python-loop steps per second', () => {
    const r = hyperseg('bench', 'train', '--batch', '8', '--steps', '3', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.typescript.stepsPerSecond).toBeGreaterThan(0);
    expect(j.python.stepsPerSecond).toBeGreaterThan(0);
    expect(j.overhead).toBeCloseTo(1 - j.python.seconds / j.typescript.seconds, 6);
  }, 120_000);

  it('segment on tfjs with a padded encoder is refused with bench\'s own flags, before a backend starts', () => {
    const r = hyperseg('bench', 'segment', '--backend', 'tfjs', '--preset', 'paper', '--no-brats');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bench segment compares the dense path with the per-patch path, and the tfjs backend has no dense path for a padded or strided encoder (preset paper)');
    expect(r.stderr).not.toMatch(/--path/); // segment's flag, which bench lacks, was the hint
  }, 60_000);
});

describe('hyperseg parity (as a user runs it)', () => {
  it('on default weights: a table of every comparison, exit 0', () => {
    const r = hyperseg('parity');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/encoder mu\s+\S+\s+\S+\s+rel ≤ 0.0001/);
    expect(r.stdout).toMatch(/grad decoder\.0\.inner\.weight/);
    expect(r.stdout).toMatch(/parity: all \d+ comparisons within tolerance/);
  }, 300_000);

  it('on weights trained with the torch backend (a checkpoint and its config)', async () => {
    const { TorchBackend } = await import('../../src/backends/torch/backend.js');
    const { TripletSampler } = await import('../../src/sampling/triplets.js');
    const { synthVolume } = await import('../../src/data/synth.js');
    const { Rng } = await import('../../src/random.js');
    const b = await TorchBackend.start({ threads: 1 });
    const ck = join(dir, 'trained.safetensors');
    try {
      await b.init({ preset: 'small', gyroconv: false }, 4);
      const v = synthVolume(0, 2, 24);
      for (const batch of new TripletSampler([{ data: v.image, shape: v.shape }], {}, new Rng(1)).batches(5, 8)) await b.trainStep(batch);
      await b.save(ck);
    } finally {
      await b.close();
    }
    const r = hyperseg('parity', '--weights', ck, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(true);
    expect(j.config.gyroconv).toBe(false);
    const badInline = hyperseg('parity', '--config', '{"preset": small}');
    expect(badInline.code).toBe(2);
    expect(badInline.stderr).toMatch(/--config: the model configuration given inline is not valid JSON/);
    const noFile = hyperseg('parity', '--config', join(dir, 'absent.json'));
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toMatch(/absent\.json: cannot read the model configuration/);
    const bad = hyperseg('parity', '--step', '-1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--step/);
  }, 300_000);
});

describe('hyperseg doctor', () => {
  it('a Python interpreter that cannot run is a FAIL line with the reason, not a crash', async () => {
    const { spawnSync } = await import('node:child_process');
    const { CLI } = await import('../helpers/cli.js');
    // pythonia spawned it without an error handler: "Unhandled 'error' event ... spawn /nonexistent ENOENT", a stack, no JSON
    const r = spawnSync(process.execPath, [CLI, 'doctor', '--json'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, HYPERSEG_WORKER_PYTHON: join(dir, 'no-such-python') } });
    expect(r.stderr).not.toMatch(/Unhandled 'error' event|at .*\.js:\d+/);
    const j = JSON.parse(r.stdout) as { checks: { name: string; ok: boolean; detail: string }[] };
    const python = j.checks.find((c) => c.name === 'python');
    expect(python).toMatchObject({ ok: false });
    expect(python?.detail).toContain(`cannot run the Python interpreter ${join(dir, 'no-such-python')} (ENOENT)`);
  }, 180_000);
});
