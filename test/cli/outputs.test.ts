/**
 * What the commands leave behind when they refuse or fail, and the checks that come before any work:
 * model configuration values, output paths that are files or hold something else, training volumes too
 * small to sample, and segmentations that stop half-way (built CLI, real worker, real files).
 */

import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveModelConfig } from '../../src/backends/config.js';
import { writeSynthDataset } from '../../src/data/dataset.js';
import { readNifti, writeNifti } from '../../src/data/nifti.js';
import { synthVolume } from '../../src/data/synth.js';
import { HypersegError } from '../../src/errors.js';
import { segment } from '../../src/pipeline/segment.js';
import { hyperseg } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('hyperseg-outputs-');
const data = join(dir, 'ds');
const run = join(dir, 'run');
const file = join(dir, 'a-file');

beforeAll(async () => {
  await writeSynthDataset({ out: data, count: 4, size: 20, seed: 2 });
  writeFileSync(file, 'not a folder\n');
  const t = hyperseg('train', '--data', data, '--out', run, '--steps', '1', '--batch', '4', '--threads', '1');
  if (t.code !== 0) throw new Error(t.stderr);
}, 120_000);

/** Hidden staging folders a command left beside its output (there must be none). */
const leftovers = () => readdirSync(dir).filter((n) => n.includes('.partial-'));

describe('model configuration values', () => {
  it('are checked by type and range, naming the key', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ latent_dim: 'x' }, /latent_dim must be an integer ≥ 1, got "x"/],
      [{ latent_dim: 2.5 }, /latent_dim must be an integer ≥ 1, got 2.5/],
      [{ lr: -1 }, /lr must be a finite number > 0, got -1/],
      [{ curvature: 0 }, /curvature must be a finite number > 0, got 0/],
      [{ beta: -3 }, /beta must be a finite number ≥ 0, got -3/],
      [{ hyperbolic: 'yes' }, /hyperbolic must be true or false, got "yes"/],
      [{ enc_channels: [8, 0] }, /enc_channels must be a non-empty list of integers ≥ 1, got \[8,0\]/],
      [{ grad_clip: -1 }, /grad_clip must be null or a finite number ≥ 0 \(0 or null: no clipping\), got -1/],
      [{ kl_warmup: 2.5 }, /kl_warmup must be an integer ≥ 0, got 2.5/],
      [{ lr_warmup: -1 }, /lr_warmup must be an integer ≥ 0, got -1/],
      [{ leaky_slope: -0.5 }, /leaky_slope must be a finite number ≥ 0, got -0.5/],
      [{ leaky_slope: 1 }, /leaky_slope must be in \[0, 1\), got 1/],
      [{ free_bits: -1 }, /free_bits must be a finite number ≥ 0, got -1/],
      [{ hyperbolic: false, gyroconv: false, autoencoder: true, free_bits: 1 }, /kl_warmup and free_bits act on the KL term; an autoencoder has none/],
      [{ samples: 2, iwae: true, free_bits: 1 }, /the IWAE bound has no separate one/],
      // upper bounds, as the worker's (an m of 100000 reached torch's allocator)
      [{ m: 100000 }, /m must be an integer ≤ 128, got 100000/],
      [{ enc_channels: [8, 16, 16, 100000] }, /enc_channels must be a list of integers ≤ 4096, got \[8,16,16,100000\]/],
      [{ latent_dim: 5000 }, /latent_dim must be an integer ≤ 1024, got 5000/],
    ];
    for (const [config, message] of cases) expect(() => resolveModelConfig(config), JSON.stringify(config)).toThrow(message);
    expect(resolveModelConfig({ lr: 5e-4, grad_clip: 1, latent_dim: 4, beta: 0, hyperbolic: false, gyroconv: false, enc_channels: [4, 8, 8, 16] })).toMatchObject({ lr: 5e-4, latent_dim: 4 });
    expect(resolveModelConfig({ grad_clip: null }).grad_clip).toBeNull();
    expect(resolveModelConfig({ grad_clip: 0 }).grad_clip).toBe(0); // the worker's "off", as runs may have recorded it
  });

  it('train refuses a bad value before it writes the run folder', () => {
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, '{"latent_dim": "x"}');
    const r = hyperseg('train', '--data', data, '--out', join(dir, 'run-bad'), '--config', cfg);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/model config: latent_dim must be an integer ≥ 1, got "x"/);
    expect(existsSync(join(dir, 'run-bad'))).toBe(false);
  });

  it('train takes --config inline as well as from a file, and refuses inline JSON that is not an object', () => {
    const inline = hyperseg('train', '--data', data, '--out', join(dir, 'run-bad'), '--config', '{"latent_dim": "x"}');
    expect(inline.code).toBe(2);
    expect(inline.stderr).toMatch(/model config: latent_dim must be an integer ≥ 1, got "x"/);
    const truncated = hyperseg('train', '--data', data, '--out', join(dir, 'run-bad'), '--config', '{"latent_dim": 4');
    expect(truncated.code).toBe(2);
    expect(truncated.stderr).toMatch(/--config: the model configuration given inline is not valid JSON/);
    const list = join(dir, 'list.json');
    writeFileSync(list, '[1, 2]');
    const notObject = hyperseg('train', '--data', data, '--out', join(dir, 'run-bad'), '--config', list);
    expect(notObject.code).toBe(1);
    expect(notObject.stderr).toMatch(/list\.json: the model configuration must be a JSON object/);
    expect(existsSync(join(dir, 'run-bad'))).toBe(false);
  });
});

describe('output paths', () => {
  it('a file given as --out is refused by every command that writes a folder', () => {
    const commands = [
      ['train', '--data', data, '--out', file],
      ['segment', '--model', run, '--input', data, '--out', file, '--split', 'all'],
      ['ablate', '--data', data, '--out', file, '--steps', '1'],
      ['synth', '--out', file, '--count', '2', '--size', '16'],
    ];
    const none = hyperseg('segment', '--model', run, '--input', data, '--out', join(dir, 'seg-none'));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no test volumes in .*ds \(it has 4 in other splits\)\n  hint: pass --split all/);
    for (const args of commands) {
      const r = hyperseg(...args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args[0]).toMatch(/a-file is a file, not a folder/);
    }
    expect(readFileSync(file, 'utf8')).toBe('not a folder\n');
  });

  it('segment replaces an earlier segmentation whole, and refuses a folder of other things', () => {
    const out = join(dir, 'seg');
    const first = hyperseg('segment', '--model', run, '--input', data, '--out', out, '--k', '2,3', '--no-pictures', '--split', 'all');
    expect(first.code, first.stderr).toBe(0);
    const id = readdirSync(out).find((n) => n.startsWith('synth_')) as string;
    expect(existsSync(join(out, id, `${id}_k3.nii.gz`))).toBe(true);
    expect(hyperseg('evaluate', '--run', out).code).toBe(0); // report.md and report.json join segment.json
    // staging folders of processes that are gone are cleared; a live process's are not
    const stale = join(dir, '.seg.partial-999999999-abcdef');
    const live = join(dir, `.seg.partial-${process.pid}-abcdef`);
    mkdirSync(stale);
    mkdirSync(live);
    const second = hyperseg('segment', '--model', run, '--input', data, '--out', out, '--k', '2', '--no-pictures', '--split', 'all');
    expect(second.code, second.stderr).toBe(0);
    expect(readdirSync(join(out, id)).sort()).toEqual(['embeddings.npy', `${id}_k2.nii.gz`]); // no stale k = 3 labels
    expect(readdirSync(out).filter((n) => !n.startsWith('synth_')).sort()).toEqual(['segment.json']); // nor the old report
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    rmSync(live, { recursive: true });
    const foreign = join(dir, 'mine');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'keep me');
    const r = hyperseg('segment', '--model', run, '--input', data, '--out', foreign, '--k', '2', '--split', 'all');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mine is a folder with other contents \(notes\.txt\), not an earlier segmentation/);
    expect(readdirSync(foreign)).toEqual(['notes.txt']);
    expect(leftovers()).toEqual([]);
  }, 120_000);

  it('a segmentation that fails half-way leaves no output folder and no staging folder', async () => {
    const folder = join(dir, 'plain');
    mkdirSync(folder);
    const v = synthVolume(1, 2, 20);
    await writeNifti(join(folder, 'a.nii.gz'), { shape: v.shape, spacing: [1, 1, 1], data: v.image });
    copyFileSync(join(folder, 'a.nii.gz'), join(folder, 'b.nii.gz'));
    const whole = readFileSync(join(folder, 'a.nii.gz'));
    writeFileSync(join(folder, 'c.nii.gz'), whole.subarray(0, Math.floor(whole.length * 0.6))); // a readable header, truncated data
    const out = join(dir, 'seg-broken');
    const r = hyperseg('segment', '--model', run, '--input', folder, '--out', out, '--k', '2', '--no-pictures');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FILE_TRUNCATED\]: \S*c\.nii\.gz: gzip stream ends early/);
    expect(r.stderr).not.toMatch(/embedded/); // a/ and b/ were embedded first: the header alone looks whole
    expect(existsSync(out)).toBe(false); // a/ and b/ were written into it before
    // a file whose header is bad is found before any volume is embedded
    const bad = join(dir, 'plain-bad');
    mkdirSync(bad);
    copyFileSync(join(folder, 'a.nii.gz'), join(bad, 'a.nii.gz'));
    writeFileSync(join(bad, 'b.nii'), Buffer.alloc(400, 7));
    const early = hyperseg('segment', '--model', run, '--input', bad, '--out', join(dir, 'seg-bad'), '--k', '2', '--no-pictures');
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/b\.nii/);
    expect(early.stderr).not.toMatch(/embedded/);
    expect(existsSync(join(dir, 'seg-bad'))).toBe(false);
    // more clusters than voxels: the error names the volume (k-means alone knew only its point count)
    const small = join(dir, 'small.nii.gz');
    await writeNifti(small, { shape: [4, 4, 4], spacing: [1, 1, 1], data: Float32Array.from({ length: 64 }, (_, i) => i % 5) });
    const many = hyperseg('segment', '--model', run, '--input', small, '--out', join(dir, 'seg-many'), '--k', '100', '--no-pictures');
    expect(many.code).not.toBe(0);
    expect(many.stderr).toMatch(/small\.nii\.gz \(4×4×4 voxels\), k = 100: /);
    expect(existsSync(join(dir, 'seg-many'))).toBe(false);
    const missing = hyperseg('segment', '--model', join(dir, 'no-such-run'), '--input', folder, '--out', join(dir, 'seg-nomodel'));
    expect(missing.code).toBe(1);
    expect(existsSync(join(dir, 'seg-nomodel'))).toBe(false); // an empty folder was left before
    expect(leftovers()).toEqual([]);
  }, 120_000);
});

describe('evaluate --run', () => {
  it('says why nothing was scored when no k matches the truth, and k lists are refused with a value twice or an empty entry', () => {
    const out = join(dir, 'seg-k3');
    const s = hyperseg('segment', '--model', run, '--input', data, '--out', out, '--k', '3', '--split', 'all', '--no-pictures');
    expect(s.code, s.stderr).toBe(0);
    const e = hyperseg('evaluate', '--run', out);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/nothing to score: the truth has 2, 4, 8 classes, and the volumes were clustered with k = 3: segment again with --k 2,4,8/);
    const patch = hyperseg('segment', '--model', run, '--input', data, '--out', join(dir, 'seg-p4'), '--patch', '4', '--split', 'all');
    expect(patch.code).toBe(2);
    expect(patch.stderr).toMatch(/the dense path cannot use --patch 4 with this model \(m = 10\): it needs m\/p an integer[^]*hint: use --patch 1, 2, 5 or 10, or --path per-patch/);
    expect(existsSync(join(dir, 'seg-p4'))).toBe(false);
    const preset = hyperseg('segment', '--model', run, '--input', data, '--out', join(dir, 'seg-valid'), '--preset', 'valid', '--split', 'all');
    expect(preset.code).toBe(2); // it was ignored before
    expect(preset.stderr).toMatch(/run was trained with preset "small", .*; --preset\/--config ask for preset "valid"/);
    const unfinished = join(dir, 'run-unfinished');
    cpSync(run, unfinished, { recursive: true });
    rmSync(join(unfinished, 'model.safetensors'));
    const u = hyperseg('segment', '--model', unfinished, '--input', data, '--out', join(dir, 'seg-unfinished'), '--k', '2', '--split', 'all', '--no-pictures');
    expect(u.code, u.stderr).toBe(0);
    expect(u.stderr).toMatch(/run-unfinished: unfinished run; segmenting with its checkpoint of step 1/);
    for (const k of ['2,2', '2,,4']) {
      const r = hyperseg('segment', '--model', run, '--input', data, '--out', join(dir, 'seg-kk'), '--k', k);
      expect(r.code, k).toBe(2);
      expect(r.stderr, k).toMatch(k === '2,2' ? /--k lists a value twice: '2,2'/ : /--k must be a comma-separated list of integers, got '2,,4'/);
    }
  }, 60_000);
});

describe('damaged or hand-edited JSON records', () => {
  it('a manifest, segment.json or a newer segment.json is refused naming the file and field, never as a TypeError', () => {
    const edit = (src: string, dst: string, change: (j: Record<string, unknown>) => unknown) => writeFileSync(dst, JSON.stringify(change(JSON.parse(readFileSync(src, 'utf8')) as Record<string, unknown>)));
    // manifests: null, and a null volume entry (were "Cannot read properties of null (reading 'generator')" and "(reading 'id')", INTERNAL)
    const ds = join(dir, 'ds-edited');
    cpSync(data, ds, { recursive: true });
    const manifest = join(ds, 'manifest.json');
    const original = readFileSync(manifest, 'utf8');
    for (const [change, message] of [
      [() => null, /manifest\.json: not a hyperseg synth manifest/],
      [(j: Record<string, unknown>) => ({ ...j, volumes: [null, ...(j.volumes as unknown[]).slice(1)] }), /manifest\.json: volumes\[0\] must be \{id, split: train\|val\|test, image, labels: \{level: file\}\}, got null/],
      [(j: Record<string, unknown>) => ({ ...j, volumes: (j.volumes as Record<string, unknown>[]).map((v, i) => (i === 1 ? { ...v, image: null } : v)) }), /manifest\.json: volumes\[1\] must be/],
    ] as const) {
      writeFileSync(manifest, original);
      edit(manifest, manifest, change);
      const r = hyperseg('train', '--data', ds, '--out', join(dir, 'run-edited'), '--steps', '1');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/Cannot read properties|TypeError|INTERNAL/);
    }
    expect(existsSync(join(dir, 'run-edited'))).toBe(false);
    // segment.json
    const seg = join(dir, 'seg-edited');
    const s = hyperseg('segment', '--model', run, '--input', data, '--out', seg, '--k', '2', '--split', 'all', '--no-pictures');
    expect(s.code, s.stderr).toBe(0);
    const summary = join(seg, 'segment.json');
    const kept = readFileSync(summary, 'utf8');
    for (const [change, code, message] of [
      [() => null, 'FILE_FORMAT', /segment\.json: not a hyperseg segmentation summary/],
      [(j: Record<string, unknown>) => ({ ...j, cases: [null] }), 'FILE_FORMAT', /segment\.json: cases\[0\] must be \{id, labels: \{k: file\}, \.\.\.\}, got null/],
      [(j: Record<string, unknown>) => ({ ...j, data: null }), 'FILE_FORMAT', /segment\.json: data must hold the input paths/],
      // a newer format was scored silently
      [(j: Record<string, unknown>) => ({ ...j, version: 99 }), 'UNSUPPORTED', /segment\.json: segmentation summary version 99; this hyperseg reads version 1/],
    ] as const) {
      writeFileSync(summary, kept);
      edit(summary, summary, change);
      const r = hyperseg('evaluate', '--run', seg, '--json');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code } });
    }
  }, 120_000);

  it('ablate and quickstart take only a new, empty or their own folder, never the data folder or one inside it', async () => {
    // into a training run: seven model folders and the tables were written among its files before
    const before = readdirSync(run).sort();
    const r = hyperseg('ablate', '--data', data, '--out', run, '--steps', '1', '--batch', '4');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out ${run} holds other files, not the folder of an earlier ablate (none of ablate-budget.json, ablation.json)`);
    expect(readdirSync(run).sort()).toEqual(before);
    for (const out of [data, join(data, 'abl')]) {
      const inside = hyperseg('ablate', '--data', data, '--out', out, '--steps', '1');
      expect(inside.code).toBe(2);
      expect(inside.stderr).toMatch(/is the data folder or inside it/);
    }
    expect(existsSync(join(data, 'abl'))).toBe(false);
    const q = hyperseg('quickstart', '--out', run, '--steps', '1');
    expect(q.code).toBe(2);
    expect(q.stderr).toMatch(/holds other files, not the folder of an earlier quickstart/);
    expect(readdirSync(run).sort()).toEqual(before);
    // a training image truncated past its header: named before the baselines and the first training run
    const damaged = join(dir, 'ds-damaged');
    await writeSynthDataset({ out: damaged, count: 6, size: 20, seed: 2 }); // one test volume
    const manifest = JSON.parse(readFileSync(join(damaged, 'manifest.json'), 'utf8')) as { volumes: { split: string; image: string }[] };
    const image = join(damaged, manifest.volumes.find((v) => v.split === 'train')!.image);
    const whole = readFileSync(image);
    writeFileSync(image, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const abl = join(dir, 'abl-damaged');
    const d = hyperseg('ablate', '--data', damaged, '--out', abl, '--steps', '1', '--batch', '4');
    expect(d.code).toBe(1);
    expect(d.stderr).toContain(`FILE_TRUNCATED]: ${image}: gzip stream ends early`);
    expect(existsSync(abl)).toBe(false); // the baselines' rows and folders were written first
  }, 60_000);

  it('a BraTS case folder without its FLAIR image is named; a NaN in a label file is called damage', async () => {
    const b = join(dir, 'brats-noflair');
    expect(hyperseg('synth', '--kind', 'brats-phantom', '--count', '2', '--shape', '32x32x24', '--out', b).code).toBe(0);
    const id = readdirSync(b).filter((n) => !n.startsWith('.') && !n.endsWith('.json') && !n.endsWith('.png')).sort()[0];
    // a case whose segmentation is flipped against its FLAIR image: named (it was scored voxel by voxel)
    const other = readdirSync(b).filter((n) => !n.startsWith('.') && !n.endsWith('.json') && !n.endsWith('.png')).sort()[1];
    const segFile = join(b, other, `${other}_seg.nii.gz`);
    const sv = await readNifti(segFile);
    const flip = sv.affine.map((row) => [...row]);
    for (let r = 0; r < 3; r++) flip[r][0] = -flip[r][0];
    await writeNifti(segFile, { shape: sv.shape, spacing: sv.spacing, affine: flip, data: sv.data });
    const fl = hyperseg('segment', '--model', run, '--input', b, '--out', join(dir, 'seg-flipped-brats'), '--split', 'all');
    expect(fl.code).toBe(1);
    expect(fl.stderr).toContain(`${segFile} is oriented differently from its image ${join(b, other, `${other}_flair.nii.gz`)}`);
    rmSync(join(b, id, `${id}_flair.nii.gz`));
    // was "no NIfTI images" with one case left, the case skipped silently with two
    const r = hyperseg('segment', '--model', run, '--input', b, '--out', join(dir, 'seg-noflair'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(b, id)}: a BraTS case without its FLAIR image (${id}_flair.nii.gz)`);
    const nan = join(dir, 'nan-labels.nii.gz');
    await writeNifti(nan, { shape: [4, 4, 4], data: new Float32Array(64).fill(NaN) });
    const e = hyperseg('evaluate', '--pred', nan, '--truth', nan);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/NON_FINITE[^]*hint: label volumes hold whole class numbers: this file is damaged, or is an image rather than labels/);
    expect(e.stderr).not.toMatch(/--non-finite/); // evaluate has no such flag
  }, 60_000);
});

describe('plain NIfTI files', () => {
  it('named one by one keep the truth beside them; a label file, a flipped label file, --split and a truth k not clustered are said', async () => {
    const plain = join(dir, 'named');
    mkdirSync(plain);
    const v = synthVolume(3, 2, 20);
    const w = synthVolume(4, 2, 20);
    await writeNifti(join(plain, 'a.nii.gz'), { shape: v.shape, data: v.image });
    await writeNifti(join(plain, 'a_seg.nii.gz'), { shape: v.shape, data: v.labels[0] });
    await writeNifti(join(plain, 'b.nii.gz'), { shape: w.shape, data: w.image });
    await writeNifti(join(plain, 'b_seg.nii.gz'), { shape: w.shape, data: w.labels[1] }); // four classes
    const a = join(plain, 'a.nii.gz');
    // the image by name, twice: one volume, scored against a_seg (it was 'nothing to score: no ground truth')
    const seg = join(dir, 'seg-named');
    const r = hyperseg('segment', '--model', run, '--input', a, a, '--out', seg, '--k', '2', '--no-pictures');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(seg, 'segment.json'), 'utf8')) as { cases: { id: string; files: string[] }[] };
    expect(summary.cases.map((c) => [c.id, c.files])).toEqual([['a', [a, join(plain, 'a_seg.nii.gz')]]]);
    const e = hyperseg('evaluate', '--run', seg, '--json');
    expect(e.code, e.stderr).toBe(0);
    const rep = JSON.parse(e.stdout) as { aggregates: { target: string; k: number; cases: number }[] };
    expect(rep.aggregates.map((x) => [x.target, x.k, x.cases])).toEqual([['truth', 2, 1]]);
    // b's truth has four classes and only k = 2 was clustered: not scored, and why (it showed '—' like no truth)
    const both = join(dir, 'seg-named-2');
    expect(hyperseg('segment', '--model', run, '--input', plain, '--out', both, '--k', '2', '--no-pictures').code).toBe(0);
    const e2 = JSON.parse(hyperseg('evaluate', '--run', both, '--json').stdout) as { skipped?: { id: string; reason: string }[] };
    expect(e2.skipped).toEqual([{ id: 'b', reason: 'its truth has 4 classes, and it was clustered with k = 2 (segment again with --k 4, or without --k)' }]);
    expect(readFileSync(join(both, 'report.md'), 'utf8')).toContain('Not scored (1 of 2 volumes): b: its truth has 4 classes');
    // the label file given as the image
    const l = hyperseg('segment', '--model', run, '--input', join(plain, 'a_seg.nii.gz'), '--out', join(dir, 'seg-label'));
    expect(l.code).toBe(1);
    expect(l.stderr).toContain(`${join(plain, 'a_seg.nii.gz')} is the label file (the truth) of ${a}, not an image`);
    expect(l.stderr).toContain(`hint: pass ${a}: its truth is found beside it`);
    // plain files have no split (--split test segmented every file and recorded "split test")
    const sp = hyperseg('segment', '--model', run, '--input', plain, '--out', join(dir, 'seg-split'), '--split', 'test');
    expect(sp.code).toBe(2);
    expect(sp.stderr).toMatch(/--split test: plain NIfTI files have no train\/val\/test split/);
    expect(hyperseg('segment', '--model', run, '--input', plain, '--out', join(dir, 'seg-split'), '--split-seed', '5').stderr).toMatch(/--split-seed draws the split of a BraTS-layout folder; plain NIfTI files have none/);
    expect(existsSync(join(dir, 'seg-split'))).toBe(false);
    // a label file whose affine flips an axis: refused by name (it was scored voxel by voxel, Dice 0.94)
    const flipped = join(dir, 'flipped');
    mkdirSync(flipped);
    await writeNifti(join(flipped, 'x.nii.gz'), { shape: v.shape, data: v.image });
    await writeNifti(join(flipped, 'x_seg.nii.gz'), { shape: v.shape, data: v.labels[0], affine: [[-1, 0, 0, 19], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] });
    const f = hyperseg('segment', '--model', run, '--input', flipped, '--out', join(dir, 'seg-flipped'), '--k', '2');
    expect(f.code).toBe(1);
    expect(f.stderr).toContain(`${join(flipped, 'x_seg.nii.gz')} is oriented differently from its image ${join(flipped, 'x.nii.gz')}`);
    expect(existsSync(join(dir, 'seg-flipped'))).toBe(false);
    const nope = hyperseg('evaluate', '--run', join(dir, 'no-such-seg'));
    expect(nope.code).toBe(1);
    expect(nope.stderr).toContain(`${join(dir, 'no-such-seg')}: no such folder`); // was "not a segmentation folder"
  }, 180_000);
});

describe('flags of the other backend', () => {
  it('are refused before anything is written, not ignored', () => {
    // tfjs trained on the CPU with --device cuda, and ignored --workers, with exit 0; torch ignored --engine
    const cases: [string[], RegExp][] = [
      [['train', '--data', data, '--out', join(dir, 'tf-cuda'), '--backend', 'tfjs', '--device', 'cuda', '--steps', '1'], /--device cuda applies to the torch backend; the tfjs backend runs in this process/],
      [['train', '--data', data, '--out', join(dir, 'tf-workers'), '--backend', 'tfjs', '--workers', 'tcp://127.0.0.1:5999', '--steps', '1'], /--workers applies to the torch backend/],
      [['train', '--data', data, '--out', join(dir, 'torch-engine'), '--engine', 'wasm', '--steps', '1'], /--engine wasm chooses the tfjs backend's engine/],
      [['segment', '--model', run, '--input', data, '--out', join(dir, 'seg-engine'), '--split', 'all', '--engine', 'cpu'], /--engine cpu chooses the tfjs backend's engine/],
    ];
    for (const [args, message] of cases) {
      const r = hyperseg(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    for (const d of ['tf-cuda', 'tf-workers', 'torch-engine', 'seg-engine']) expect(existsSync(join(dir, d)), d).toBe(false);
  }, 120_000);
});

describe('segment (library)', () => {
  it('stopped by its signal: INTERRUPTED, and the output folder as it was', async () => {
    const out = join(dir, 'seg-stopped');
    const controller = new AbortController();
    controller.abort();
    const err = await segment({ model: run, input: [data], out, split: 'all', ks: [2], pictures: false, signal: controller.signal, threads: 1 }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(HypersegError);
    expect((err as HypersegError).code).toBe('INTERRUPTED');
    expect((err as HypersegError).message).toMatch(/segmentation stopped after 0 of 4 volumes; .*seg-stopped was left as it was/);
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
    // stopped during the last volume: still stopped, the folder still as it was (it was replaced, exit 0)
    const late = new AbortController();
    const last = await segment({ model: run, input: [data], out, split: 'all', ks: [2], pictures: false, signal: late.signal, threads: 1, onCase: (done, total) => {
      if (done === total) late.abort();
    } }).then(() => null, (e: unknown) => e);
    expect((last as HypersegError).code).toBe('INTERRUPTED');
    expect((last as HypersegError).message).toMatch(/segmentation stopped after 4 of 4 volumes; .*seg-stopped was left as it was, and the finished volumes kept beside it/);
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  it('stopped after two volumes: the same command continues from them, and gives the labels of an uninterrupted run', async () => {
    const out = join(dir, 'seg-resumed');
    const kept = join(dir, '.seg-resumed.resume');
    const opts = { model: run, input: [data], out, split: 'all' as const, ks: [2], pictures: false, threads: 1 };
    const stop = new AbortController();
    const err = await segment({ ...opts, signal: stop.signal, onCase: (done) => {
      if (done === 2) stop.abort();
    } }).then(() => null, (e: unknown) => e);
    expect((err as HypersegError).code).toBe('INTERRUPTED');
    expect((err as HypersegError).message).toMatch(/stopped after 2 of 4 volumes; .*seg-resumed was left as it was, and the finished volumes kept beside it/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(kept).sort()).toEqual(['resume.json', 'synth_000', 'synth_001']);
    // a kept volume with an output missing is segmented again (it was taken, and segment.json listed a missing file)
    rmSync(join(kept, 'synth_001', 'embeddings.npy'));
    const logs: string[] = [];
    const s = await segment({ ...opts, onLog: (m) => logs.push(m) });
    expect(logs.filter((m) => m.endsWith('kept from the interrupted segmentation'))).toEqual(['synth_000: kept from the interrupted segmentation']);
    expect(s.cases.map((c) => c.id)).toEqual(['synth_000', 'synth_001', 'synth_002', 'synth_003']);
    expect(s.kept).toEqual(['synth_000']);
    expect(existsSync(kept)).toBe(false);
    expect(readdirSync(join(out, 'synth_000')).sort()).toEqual(['embeddings.npy', 'synth_000_k2.nii.gz']); // no case.json left
    const whole = join(dir, 'seg-whole');
    expect((await segment({ ...opts, out: whole })).kept).toBeUndefined();
    for (const c of s.cases) {
      expect((await readNifti(join(out, c.labels['2']))).data, c.id).toEqual((await readNifti(join(whole, c.labels['2']))).data);
      expect(readFileSync(join(out, c.embeddings!)).equals(readFileSync(join(whole, c.embeddings!))), c.id).toBe(true);
    }
    // the finished volumes of a run with other settings are not taken
    const again = new AbortController();
    await segment({ ...opts, signal: again.signal, onCase: (done) => {
      if (done === 1) again.abort();
    } }).catch(() => undefined);
    expect(existsSync(kept)).toBe(true);
    const other: string[] = [];
    await segment({ ...opts, ks: [3], onLog: (m) => other.push(m) });
    expect(other.some((m) => m.includes('kept from'))).toBe(false);
    expect(other).toContain(`${kept}: the volumes of an interrupted segmentation with other settings, weights or backend; removed`);
    expect(existsSync(kept)).toBe(false);
    // an input replaced by another file with an older mtime (cp -p, rsync -a): its kept volume is not taken
    const copy = join(dir, 'ds-copy');
    cpSync(data, copy, { recursive: true });
    const onCopy = { ...opts, input: [copy], out: join(dir, 'seg-copy') };
    const third = new AbortController();
    await segment({ ...onCopy, signal: third.signal, onCase: (done) => {
      if (done === 2) third.abort();
    } }).catch(() => undefined);
    const first = join(copy, 'images', 'synth_000.nii.gz');
    copyFileSync(join(copy, 'images', 'synth_002.nii.gz'), first);
    utimesSync(first, new Date('2020-01-01'), new Date('2020-01-01'));
    const copied: string[] = [];
    await segment({ ...onCopy, onLog: (m) => copied.push(m) });
    expect(copied.filter((m) => m.includes('kept from'))).toEqual(['synth_001: kept from the interrupted segmentation']);
  }, 120_000);
});

describe('training volumes', () => {
  it('too small to sample triplets from are refused, naming the file', async () => {
    const folder = join(dir, 'tiny');
    mkdirSync(folder);
    const v = synthVolume(1, 2, 20);
    await writeNifti(join(folder, 'big.nii.gz'), { shape: v.shape, spacing: [1, 1, 1], data: v.image });
    await writeNifti(join(folder, 'flat.nii.gz'), { shape: [24, 24, 1], spacing: [1, 1, 1], data: new Float32Array(24 * 24).map((_, i) => i % 7) });
    const r = hyperseg('train', '--data', folder, '--out', join(dir, 'run-tiny'), '--steps', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[INVALID_INPUT\].*flat\.nii\.gz is 24×24×1 voxels: too small to train on; .* at least 7 voxels/);
    expect(existsSync(join(dir, 'run-tiny', 'config.json'))).toBe(false);
  }, 60_000);
});
