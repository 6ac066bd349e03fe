/**
 * `ablate` end to end on a small synthetic dataset (real files, a real torch worker): every row of
 * the table, the feature baselines against an exact one-dimensional two-means computed here, and a
 * re-run that continues (no retraining, the same table).
 */

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSynthDataset } from '../../src/data/dataset.js';
import { writeNifti } from '../../src/data/nifti.js';
import { synthVolume } from '../../src/data/synth.js';
import { ablate } from '../../src/pipeline/experiments.js';
import { robustUnit } from '../../src/pipeline/inputs.js';
import { scoreSegmentation } from '../../src/pipeline/report.js';
import { naiveBoxMean } from '../helpers/box-mean.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('hyperseg-ablate-');
const data = join(dir, 'ds');
const SEED = 9;
const SIZE = 24;

beforeAll(async () => {
  await writeSynthDataset({ out: data, count: 6, size: SIZE, seed: SEED });
});

/** The globally optimal split of 1-D values into two groups (least within-group squared error), by scanning the sorted values. */
function exactTwoMeans(x: Float64Array | Float32Array): Uint8Array {
  const s = Float64Array.from(x).sort();
  const n = s.length;
  const pre = new Float64Array(n + 1);
  const pre2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    pre[i + 1] = pre[i] + s[i];
    pre2[i + 1] = pre2[i] + s[i] * s[i];
  }
  const sse = (lo: number, hi: number) => pre2[hi] - pre2[lo] - (pre[hi] - pre[lo]) ** 2 / (hi - lo);
  let best = Infinity;
  let cut = 1;
  for (let i = 1; i < n; i++) {
    if (s[i] === s[i - 1]) continue; // a split between equal values is no split
    const e = sse(0, i) + sse(i, n);
    if (e < best) {
      best = e;
      cut = i;
    }
  }
  const t = (s[cut - 1] + s[cut]) / 2;
  return Uint8Array.from(x, (v) => (v > t ? 1 : 0));
}

/**
 * The globally optimal split of 1-D values into two groups by least summed absolute deviation from each
 * group's median (two-medians), by scanning the sorted values: a group's cost from prefix sums about its median.
 */
function exactTwoMedians(x: Float64Array | Float32Array): Uint8Array {
  const s = Float64Array.from(x).sort();
  const n = s.length;
  const pre = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) pre[i + 1] = pre[i] + s[i];
  // Σ |s_j − s_m| over j in [lo, hi) with m the (lower) median index
  const cost = (lo: number, hi: number) => {
    const m = lo + Math.floor((hi - lo - 1) / 2);
    return s[m] * (m - lo) - (pre[m] - pre[lo]) + (pre[hi] - pre[m + 1]) - s[m] * (hi - m - 1);
  };
  let best = Infinity;
  let cut = 1;
  for (let i = 1; i < n; i++) {
    if (s[i] === s[i - 1]) continue;
    const e = cost(0, i) + cost(i, n);
    if (e < best) {
      best = e;
      cut = i;
    }
  }
  // each value to the nearer of the two medians (the split itself is where they are equally near)
  const lo = s[Math.floor((cut - 1) / 2)];
  const hi = s[cut + Math.floor((n - cut - 1) / 2)];
  return Uint8Array.from(x, (v) => (Math.abs(v - hi) < Math.abs(v - lo) ? 1 : 0));
}

/** Mean Dice over the two classes after matching clusters to classes by maximum overlap. */
function matchedDice(pred: Uint8Array, truth: Uint8Array): number {
  const dice = (p: Uint8Array, flip: boolean) => {
    let d = 0;
    for (const c of [0, 1]) {
      let both = 0;
      let np = 0;
      let nt = 0;
      for (let i = 0; i < p.length; i++) {
        const q = flip ? 1 - p[i] : p[i];
        if (q === c) np++;
        if (truth[i] === c) nt++;
        if (q === c && truth[i] === c) both++;
      }
      d += (2 * both) / (np + nt);
    }
    return d / 2;
  };
  let agree = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === truth[i]) agree++;
  return dice(pred, agree < pred.length / 2);
}

describe('ablate', () => {
  it('scores the feature baselines as an exact two-means does, adds every configuration asked for, and continues on a re-run', async () => {
    const out = join(dir, 'abl');
    const options = { data, out, steps: 3, batch: 8, only: ['euclidean-base'], threads: 1 };
    const first = await ablate(options);
    expect(first.rows.map((r) => r.method)).toEqual([
      'k-means on raw intensities', 'k-means on 3³ box means of intensity', 'k-means on 5³ box means of intensity',
      'k-means on Euclidean autoencoder codes', 'Euclidean base',
    ]);
    for (const r of first.rows) {
      expect(r.aggregates.map((a) => a.k)).toEqual([2, 4, 8]);
      for (const a of r.aggregates) {
        expect(a.cases).toBe(1); // 6 volumes: 4 train, 1 val, 1 test
        expect(a.dice.mean).toBeGreaterThan(0);
        expect(a.dice.mean).toBeLessThanOrEqual(1);
      }
    }
    expect(first.rows[4].steps).toBe(3);
    const md = readFileSync(first.report, 'utf8');
    for (const r of first.rows) expect(md).toContain(`| ${r.method} |`);
    expect(existsSync(join(out, 'ablation.json'))).toBe(true);

    // level 1 (k = 2) of each feature baseline, recomputed from the generator's volume: the feature by
    // its definition, the optimal two-means split, overlap matching
    for (const [box, folder] of [[1, 'baseline-intensity'], [3, 'baseline-box3'], [5, 'baseline-box5']] as const) {
      const scored = await scoreSegmentation(join(out, folder));
      const level1 = scored.cases.filter((c) => c.k === 2);
      expect(level1.length).toBe(1);
      for (const c of level1) {
        const v = synthVolume(Number(c.id.replace('synth_', '')), SEED, SIZE);
        const feature = box === 1 ? v.image : naiveBoxMean(v.image, v.shape, (box - 1) / 2);
        const want = matchedDice(exactTwoMeans(feature), v.labels[0]);
        // Lloyd's iterations from k-means++ seeds reach the optimal 1-D split here; float32 features may move a few boundary voxels
        expect(Math.abs(c.meanDice - want), `${folder} ${c.id}: ${c.meanDice} vs ${want}`).toBeLessThan(2e-3);
      }
    }

    // a re-run continues: nothing is retrained (still 3 logged steps), nothing re-segmented (segment.json,
    // with its timings, byte for byte as it was; each row was segmented again before) and the table is the same
    const segJson = (row: string) => readFileSync(join(out, row, 'segmentation', 'segment.json'), 'utf8');
    const before = { ae: segJson('k-means-on-euclidean-autoencoder-codes'), eb: segJson('euclidean-base') };
    expect(JSON.parse(before.eb).model.sha256).toMatch(/^[0-9a-f]{64}$/);
    const lines: string[] = [];
    const again = await ablate({ ...options, onLog: (l) => lines.push(l) });
    expect(again.rows.map((r) => r.aggregates)).toEqual(first.rows.map((r) => r.aggregates));
    expect(readFileSync(join(out, 'euclidean-base', 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(3);
    expect({ ae: segJson('k-means-on-euclidean-autoencoder-codes'), eb: segJson('euclidean-base') }).toEqual(before);
    expect(lines.filter((l) => /reusing the segmentation made from the same weights/.test(l)).length).toBe(2);

    // without --steps a re-run keeps the folder's budget (it took 1,500 and extended every run before)
    const plain = await ablate({ ...options, steps: undefined });
    expect(plain.rows.map((r) => r.aggregates)).toEqual(first.rows.map((r) => r.aggregates));
    expect(readFileSync(join(out, 'euclidean-base', 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(3);
    // nor batch, preset or seed: a re-run given none of them keeps the folder's (batch 32 was taken as asked for, and refused)
    const bare = await ablate({ data, out, only: ['euclidean-base'], threads: 1 });
    expect(bare.rows.map((r) => r.aggregates)).toEqual(first.rows.map((r) => r.aggregates));
    expect(JSON.parse(readFileSync(join(out, 'ablate-budget.json'), 'utf8'))).toEqual({ steps: 3, batch: 8, preset: 'small', model: {}, seeds: [0], backend: 'torch' });

    // the folder's models and baselines belong to that data and budget: other data, a shorter budget,
    // another batch or preset are refused before anything is trained (they gave a mixed table before)
    const other = join(dir, 'other-ds');
    await writeSynthDataset({ out: other, count: 6, size: SIZE, seed: SEED + 1 });
    await expect(ablate({ ...options, data: other })).rejects.toThrow(/holds an ablation of other data or settings: .*baseline-intensity.*segment\.json clustered \[.*ds.*\] \(1 test volumes, k = 2, 4, 8\), this run asks for \[.*other-ds.*\] \(1 test volumes/);
    await expect(ablate({ ...options, steps: 2 })).rejects.toThrow(/has already trained 3 steps; --steps 2 would not continue it/);
    await expect(ablate({ ...options, batch: 4 })).rejects.toThrow(/was trained with batch 8, not 4/);
    await expect(ablate({ ...options, preset: 'valid' })).rejects.toThrow(/was trained with model \(.*\).*"preset":"small".*, not .*"preset":"valid"/);
    expect(readFileSync(join(out, 'euclidean-base', 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(3);

    // --only another configuration with another budget: the table keeps the earlier row (it showed only
    // the configurations of the last run before), in the paper's order, each trained row's budget named
    // where it differs from the header's; the folder's budget stays (a plain re-run would have taken 4)
    const more = await ablate({ ...options, steps: 4, only: ['hyperbolic-base'] });
    expect(more.rows.map((r) => [r.method, r.steps])).toEqual([
      ['k-means on raw intensities', undefined], ['k-means on 3³ box means of intensity', undefined], ['k-means on 5³ box means of intensity', undefined],
      ['k-means on Euclidean autoencoder codes', 4], ['Euclidean base', 3], ['hyperbolic base', 4],
    ]);
    expect(more.rows[4].aggregates).toEqual(first.rows[4].aggregates);
    // the autoencoder, trained on to 4 steps, has new weights and is segmented again; the Euclidean base is not
    expect(JSON.parse(segJson('k-means-on-euclidean-autoencoder-codes')).model.sha256).not.toBe(JSON.parse(before.ae).model.sha256);
    expect(segJson('euclidean-base')).toBe(before.eb);
    const table = readFileSync(more.report, 'utf8');
    expect(table).toMatch(/4 steps of 8 triplets each/);
    expect(table).toContain('| Euclidean base (3 steps) |');
    expect(table).toContain('| hyperbolic base |');
    expect(JSON.parse(readFileSync(join(out, 'ablate-budget.json'), 'utf8')).steps).toBe(3);
    // a plain re-run (no --steps) reuses the runs trained beyond the folder's budget rather than refusing them
    const plainAgain = await ablate({ ...options, steps: undefined, only: ['euclidean-base', 'hyperbolic-base'] });
    expect(plainAgain.rows.slice(3).map((r) => [r.method, r.steps])).toEqual([['k-means on Euclidean autoencoder codes', 4], ['Euclidean base', 3], ['hyperbolic base', 4]]);
    expect(plainAgain.rows.map((r) => r.aggregates)).toEqual(more.rows.map((r) => r.aggregates));
    expect(readFileSync(join(out, 'hyperbolic-base', 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(4);
  }, 300_000);

  it('--concurrent trains the runs side by side, each in its own process, into the runs the one-after-another path trains', async () => {
    const base = { data, steps: 3, batch: 8, only: ['euclidean-base'], threads: 1 };
    const lines: string[] = [];
    const side = await ablate({ ...base, out: join(dir, 'abl-concurrent'), concurrent: 2, onLog: (l) => lines.push(l) });
    const seq = await ablate({ ...base, out: join(dir, 'abl-sequential') });
    expect(side.rows.map((r) => r.method)).toEqual(seq.rows.map((r) => r.method));
    expect(side.rows.map((r) => r.aggregates)).toEqual(seq.rows.map((r) => r.aggregates));
    // the same optimisation step by step (CPU, one thread: bit for bit), timings aside
    const losses = (out: string, row: string) => readFileSync(join(out, row, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n')
      .map((l) => { const { seconds: _s, elapsed: _e, ...rest } = JSON.parse(l); return rest; });
    for (const row of ['k-means-on-euclidean-autoencoder-codes', 'euclidean-base']) {
      const mine = losses(join(dir, 'abl-concurrent'), row);
      expect(mine.length).toBe(3);
      expect(mine).toEqual(losses(join(dir, 'abl-sequential'), row));
    }
    // both children were under way before either finished, and the loop after them found both runs done
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const started = [at(/^\[k-means on Euclidean autoencoder codes\] /), at(/^\[Euclidean base\] /)];
    const finished = [at(/^\[k-means on Euclidean autoencoder codes\] step 3 of 3/), at(/^\[Euclidean base\] step 3 of 3/)];
    expect(lines).toContain('training 2 runs, up to 2 at once (1 torch thread each)');
    // then both segmented side by side (each with its own worker, log lines named by run), and the loop reused both
    expect(lines).toContain('segmenting 2 runs, up to 2 at once');
    const segStart = at(/^segmenting 2 runs/);
    for (const name of ['k-means on Euclidean autoencoder codes', 'Euclidean base']) {
      expect(lines.findIndex((l, i) => i > segStart && l.startsWith(`[${name}] `)), name).toBeGreaterThan(segStart);
    }
    expect(lines.filter((l, i) => i > segStart && /^[^[].*reusing the segmentation made from the same weights/.test(l)).length).toBe(2);
    for (const i of [...started, ...finished]) expect(i).toBeGreaterThanOrEqual(0);
    expect(Math.max(...started)).toBeLessThan(Math.min(...finished));
    // a child's error comes back with its code, named by its run; --workers is refused
    await expect(ablate({ ...base, batch: 4, out: join(dir, 'abl-concurrent'), concurrent: 2 })).rejects.toThrow(/was trained with batch 8, not 4/);
    await expect(ablate({ ...base, out: join(dir, 'abl-concurrent'), concurrent: 2, workers: ['ipc:///nowhere'] })).rejects.toThrow(/--concurrent starts a worker for each run/);
  }, 300_000);

  it('--concurrent stopped (Ctrl-C) stops every run in flight with a resumable checkpoint', async () => {
    const out = join(dir, 'abl-stopped');
    const stop = new AbortController();
    const lines: string[] = [];
    const options = { data, out, steps: 400, batch: 8, only: ['euclidean-base'], threads: 1, concurrent: 2 };
    await expect(ablate({
      ...options, signal: stop.signal,
      onLog: (l) => {
        lines.push(l);
        // once both runs are under way (a progress line each, every 40 steps)
        const going = new Set(lines.map((x) => /^\[(.+)\] step \d+ of 400/.exec(x)?.[1]).filter(Boolean));
        if (going.size === 2) stop.abort();
      },
    })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    for (const row of ['k-means-on-euclidean-autoencoder-codes', 'euclidean-base']) {
      const state = JSON.parse(readFileSync(join(out, row, 'run', 'state.json'), 'utf8')) as { step: number; checkpoint: string };
      expect(state.step).toBeGreaterThan(0);
      expect(state.step).toBeLessThan(400);
      expect(existsSync(join(out, row, 'run', state.checkpoint))).toBe(true);
      expect(readFileSync(join(out, row, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(state.step);
    }
    expect(lines.filter((l) => /stopped at step \d+; the run can be resumed/.test(l)).length).toBe(2);
    // stopped before the training began: no run is started
    const early = join(dir, 'abl-stopped-early');
    await expect(ablate({ ...options, out: early, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'INTERRUPTED' });
    for (const row of ['k-means-on-euclidean-autoencoder-codes', 'euclidean-base']) expect(existsSync(join(early, row, 'run'))).toBe(false);
  }, 300_000);

  it('on plain NIfTI files: refuses them without label files before training anything, and scores them against label files', async () => {
    const folder = join(dir, 'plain');
    mkdirSync(folder);
    const spacing = [1, 1, 1] as const;
    const vols = [0, 1, 2].map((i) => synthVolume(i, SEED, 20));
    for (const [i, v] of vols.entries()) await writeNifti(join(folder, `v${i}.nii.gz`), { shape: v.shape, spacing, data: v.image });
    const out = join(dir, 'abl-plain');
    const options = { data: folder, out, steps: 2, batch: 4, only: ['euclidean-base'], threads: 1 };
    await expect(ablate(options)).rejects.toThrow(/ablate scores every configuration against ground truth, and no volume of .*plain has any/);
    expect(existsSync(out)).toBe(false);
    // the cell as truth for two of the three: scored with k = 2 (foreground Dice and surface distances too)
    for (const i of [0, 2]) await writeNifti(join(folder, `v${i}_seg.nii.gz`), { shape: vols[i].shape, spacing, data: vols[i].labels[0] });
    const r = await ablate(options);
    expect(r.rows).toHaveLength(5);
    for (const row of r.rows) expect(row.aggregates).toMatchObject([{ target: 'truth', k: 2, cases: 2 }]);
    // the raw-intensity baseline against the exact two-means, through the same matching (v0 and v2)
    const scored = await scoreSegmentation(join(out, 'baseline-intensity'));
    for (const c of scored.cases) {
      const v = vols[Number(c.id.slice(1))];
      // plain files are read as intensities mapped to [0, 1] by their 0.5th/99.5th percentiles, clipped
      expect(Math.abs(c.meanDice - matchedDice(exactTwoMeans(robustUnit(v.image)), v.labels[0])), c.id).toBeLessThan(2e-3);
    }
    expect(readFileSync(r.report, 'utf8')).toMatch(/\| Method \| Average-class Dice \(k = 2\) \| Foreground Dice \| HD95 \(mm\) \| ASSD \(mm\) \|/);
  }, 300_000);

  it('--centroid median: every row and baseline clustered by k-medians (baselines as an exact two-medians), kept by a re-run, and switched back without training', async () => {
    const out = join(dir, 'abl-median');
    const options = { data, out, steps: 3, batch: 8, only: ['euclidean-base'], threads: 1 };
    const r = await ablate({ ...options, centroid: 'median' });
    expect(r.rows.map((x) => x.method)).toEqual([
      'k-medians on raw intensities', 'k-medians on 3³ box means of intensity', 'k-medians on 5³ box means of intensity',
      'k-medians on Euclidean autoencoder codes', 'Euclidean base',
    ]);
    expect(readFileSync(r.report, 'utf8')).toMatch(/Every row clustered by k-medians/);
    expect(JSON.parse(readFileSync(join(out, 'euclidean-base', 'segmentation', 'segment.json'), 'utf8')).clustering.centroid).toBe('median');
    expect(JSON.parse(readFileSync(join(out, 'ablation.json'), 'utf8')).centroid).toBe('median');
    const level1 = async (folder: string) => (await scoreSegmentation(join(out, folder))).cases.filter((c) => c.k === 2);
    const check = async (split: (x: Float32Array) => Uint8Array) => {
      for (const [box, folder] of [[1, 'baseline-intensity'], [3, 'baseline-box3'], [5, 'baseline-box5']] as const) {
        for (const c of await level1(folder)) {
          const v = synthVolume(Number(c.id.replace('synth_', '')), SEED, SIZE);
          const feature = box === 1 ? v.image : naiveBoxMean(v.image, v.shape, (box - 1) / 2);
          const want = matchedDice(split(feature), v.labels[0]);
          expect(Math.abs(c.meanDice - want), `${folder} ${c.id}: ${c.meanDice} vs ${want}`).toBeLessThan(2e-3);
        }
      }
    };
    await check(exactTwoMedians);
    // the two splits score differently on this data (else the check above could not tell medians from means)
    const v = synthVolume(Number((await level1('baseline-intensity'))[0].id.replace('synth_', '')), SEED, SIZE);
    const gaps = [1, 3, 5].map((box) => {
      const f = box === 1 ? v.image : naiveBoxMean(v.image, v.shape, (box - 1) / 2);
      return Math.abs(matchedDice(exactTwoMedians(f), v.labels[0]) - matchedDice(exactTwoMeans(f), v.labels[0]));
    });
    expect(Math.max(...gaps)).toBeGreaterThan(5e-3); // 0.0125 on the 3³ box mean

    // a bare re-run keeps the folder's medians: the same table, the segmentations reused
    const lines: string[] = [];
    const again = await ablate({ data, out, only: ['euclidean-base'], threads: 1, onLog: (l) => lines.push(l) });
    expect(again.rows.map((x) => [x.method, x.aggregates])).toEqual(r.rows.map((x) => [x.method, x.aggregates]));
    expect(lines.filter((l) => /reusing the segmentation/.test(l)).length).toBe(2);
    // --centroid mean re-clusters every row without training: baselines as an exact two-means, names back to k-means
    const back = await ablate({ data, out, only: ['euclidean-base'], threads: 1, centroid: 'mean' });
    expect(back.rows.map((x) => x.method).slice(0, 4)).toEqual(['k-means on raw intensities', 'k-means on 3³ box means of intensity', 'k-means on 5³ box means of intensity', 'k-means on Euclidean autoencoder codes']);
    await check(exactTwoMeans);
    expect(readFileSync(join(out, 'euclidean-base', 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(3);
    expect(JSON.parse(readFileSync(join(out, 'euclidean-base', 'segmentation', 'segment.json'), 'utf8')).clustering.centroid).toBeUndefined();
    expect(JSON.parse(readFileSync(join(out, 'ablate-budget.json'), 'utf8'))).toEqual({ steps: 3, batch: 8, preset: 'small', model: {}, seeds: [0], backend: 'torch' });
  }, 300_000);
  it('over several seeds: each configuration once per seed, the row the mean ± sd over seeds of their scores', async () => {
    const out = join(dir, 'abl-seeds');
    await expect(ablate({ data, out, steps: 2, seeds: [1, 1] })).rejects.toThrow(/seeds must be different integers ≥ 0, got 1,1/);
    const r = await ablate({ data, out, steps: 2, batch: 8, seeds: [0, 1], only: ['euclidean-base'], threads: 1 });
    const row = r.rows.find((x) => x.method === 'Euclidean base');
    expect(row?.seeds).toEqual([0, 1]);
    expect(row?.steps).toBe(2);
    // each seed's scores, read back from its own folder; the row is their mean and sample sd
    const perSeed = await Promise.all([0, 1].map(async (s) => (await scoreSegmentation(join(out, 'euclidean-base', `seed-${s}`, 'segmentation'))).aggregates));
    expect(row?.perSeed).toEqual(perSeed);
    for (const [i, a] of (row?.aggregates ?? []).entries()) {
      const [x, y] = perSeed.map((p) => p[i].dice.mean);
      expect(a.dice.mean).toBeCloseTo((x + y) / 2, 12);
      expect(a.dice.sd).toBeCloseTo(Math.abs(x - y) / Math.SQRT2, 12);
    }
    // the seeds train different models: the two runs' first logged losses differ
    const firstLoss = (s: number) => JSON.parse(readFileSync(join(out, 'euclidean-base', `seed-${s}`, 'run', 'metrics.jsonl'), 'utf8').split('\n')[0]).loss;
    expect(firstLoss(0)).not.toBe(firstLoss(1));
    expect(readFileSync(r.report, 'utf8')).toMatch(/seeds 0, 1.*\n.*mean ± sd over the seeds/);
  }, 300_000);
  it('--config: settings every run shares reach each run (the autoencoder without the bound\'s), are kept by a re-run, and are checked before training', async () => {
    const out = join(dir, 'abl-config');
    const refused = [
      [{ hyperbolic: false }, /--config sets what every configuration shares; hyperbolic is not for it/],
      [{ preset: 'paper' }, /preset is --preset/],
      [{ latent_dim: 0 }, /latent_dim must be an integer ≥ 1, got 0/],
    ] as const;
    for (const [model, message] of refused) await expect(ablate({ data, out, steps: 2, batch: 8, only: ['euclidean-base'], threads: 1, model })).rejects.toThrow(message);
    expect(existsSync(out)).toBe(false); // refused before the folder was made

    const model = { latent_dim: 3, kl_warmup: 5 };
    const r = await ablate({ data, out, steps: 2, batch: 8, only: ['euclidean-base'], threads: 1, model });
    const runModel = (row: string) => JSON.parse(readFileSync(join(out, row, 'run', 'config.json'), 'utf8')).model;
    expect(runModel('euclidean-base')).toMatchObject({ preset: 'small', latent_dim: 3, kl_warmup: 5, hyperbolic: false, triplet: false });
    // the autoencoder has no KL term: it shares the latent dimension, not the KL warm-up
    expect(runModel('k-means-on-euclidean-autoencoder-codes')).toMatchObject({ latent_dim: 3, autoencoder: true });
    expect(runModel('k-means-on-euclidean-autoencoder-codes').kl_warmup).toBeUndefined();
    expect(readFileSync(r.report, 'utf8')).toContain('Preset small with {"latent_dim":3,"kl_warmup":5} in every run');
    // the embeddings have the shared latent dimension: 3 columns per voxel in the segmentation's codes
    const seg = JSON.parse(readFileSync(join(out, 'euclidean-base', 'segmentation', 'segment.json'), 'utf8'));
    expect(seg.model.config.latent_dim).toBe(3);

    // a re-run without --config keeps the folder's (the same table, nothing retrained); another one is refused by the runs it would change
    const again = await ablate({ data, out, only: ['euclidean-base'], threads: 1 });
    expect(again.rows.map((x) => x.aggregates)).toEqual(r.rows.map((x) => x.aggregates));
    await expect(ablate({ data, out, only: ['euclidean-base'], threads: 1, model: { latent_dim: 4 } })).rejects.toThrow(/was trained with model \(latent_dim\) \{"latent_dim":3\}, not \{"latent_dim":4\}/);
  }, 300_000);
  it('--intensity-jitter reaches every trained run (the autoencoder\'s too), is recorded and kept by a re-run, and another is refused before training', async () => {
    const out = join(dir, 'abl-jitter');
    await expect(ablate({ data, out, steps: 2, batch: 8, only: ['euclidean-base'], threads: 1, jitter: [1, 0] })).rejects.toThrow(/jitter must be \[gain, offset\] with 0 ≤ gain < 1/);
    expect(existsSync(out)).toBe(false);
    const jitter: [number, number] = [0.15, 0.5];
    const r = await ablate({ data, out, steps: 2, batch: 8, only: ['euclidean-base'], threads: 1, jitter });
    const runSampler = (row: string) => JSON.parse(readFileSync(join(out, row, 'run', 'config.json'), 'utf8')).sampler;
    for (const row of ['euclidean-base', 'k-means-on-euclidean-autoencoder-codes']) expect(runSampler(row).jitter, row).toEqual(jitter);
    expect(readFileSync(r.report, 'utf8')).toContain('2 steps of 8 triplets each, intensity jitter: gain ±0.15, offset ±0.5 sd, seed 0');
    expect(JSON.parse(readFileSync(join(out, 'ablate-budget.json'), 'utf8')).jitter).toEqual(jitter);
    expect(JSON.parse(readFileSync(join(out, 'ablation.json'), 'utf8')).jitter).toEqual(jitter);
    // the same runs without the jitter are other runs: the first logged losses differ (the sampler draws other patches)
    const plainOut = join(dir, 'abl-no-jitter');
    await ablate({ data, out: plainOut, steps: 2, batch: 8, only: ['euclidean-base'], threads: 1 });
    const firstLoss = (o: string) => JSON.parse(readFileSync(join(o, 'euclidean-base', 'run', 'metrics.jsonl'), 'utf8').split('\n')[0]).loss;
    expect(firstLoss(out)).not.toBe(firstLoss(plainOut));
    expect(runSampler('euclidean-base').jitter).toEqual(jitter);
    expect(JSON.parse(readFileSync(join(plainOut, 'euclidean-base', 'run', 'config.json'), 'utf8')).sampler.jitter).toBeUndefined();
    expect(JSON.parse(readFileSync(join(plainOut, 'ablate-budget.json'), 'utf8')).jitter).toBeUndefined();

    // a bare re-run keeps the folder's jitter (the same table, nothing retrained); another is refused by the runs it would change
    const again = await ablate({ data, out, only: ['euclidean-base'], threads: 1 });
    expect(again.rows.map((x) => x.aggregates)).toEqual(r.rows.map((x) => x.aggregates));
    await expect(ablate({ data, out, only: ['euclidean-base'], threads: 1, jitter: [0, 0] })).rejects.toThrow(/was trained with sampler's jitter \[0\.15,0\.5\], not \[0,0\]/);
    await expect(ablate({ data, out: plainOut, only: ['euclidean-base'], threads: 1, jitter })).rejects.toThrow(/was trained with sampler's jitter \[0,0\], not \[0\.15,0\.5\]/);
    for (const o of [out, plainOut]) expect(readFileSync(join(o, 'euclidean-base', 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').length).toBe(2);
  }, 300_000);
});
