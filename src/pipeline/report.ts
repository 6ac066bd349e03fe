/**
 * Evaluation of a segmentation folder (segment.json) against the ground truth of its data, and the
 * report: Markdown and JSON, tables laid out like the paper's.
 *  - synthetic data: per level (k = 2, 4, 8 for levels 1, 2, 3) Hungarian matching of clusters to
 *    classes and the average-class Dice (mean over classes present in the truth), mean ± sd over volumes;
 *  - BraTS layout: k = 3 clusters matched to {outside brain, brain, whole tumour}; whole-tumour Dice,
 *    HD95 and ASSD (the "average Hausdorff") in mm, as MONAI defines them;
 *  - plain NIfTI files with a label file: the average-class Dice with k = its number of values, and
 *    for two values the foreground's Dice, HD95 and ASSD.
 * Labels are read back from the NIfTI files written by segment, so the report scores what is on disk.
 */

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../data/atomic.js';
import { isObject, readJsonFile } from '../data/json.js';
import { gridRelation, labelData, readNifti } from '../data/nifti.js';
import { evaluateSegmentation } from '../eval/evaluate.js';
import { surfaceDistances } from '../eval/surface.js';
import { HypersegError } from '../errors.js';
import { openData } from './inputs.js';
import { SEGMENT_VERSION, type SegmentSummary } from './segment.js';

export interface CaseScore {
  id: string;
  target: string;
  k: number;
  meanDice: number;
  meanIou: number;
  classDice: Record<string, number>;
  focusDice?: number;
  hd95?: number;
  assd?: number;
  hd?: number;
  surfaceStatus?: string;
}

/** A mean with its sample sd over `n` finite values (n absent in reports written before it was recorded). */
export interface MeanSd { mean: number; sd: number; n?: number }

export interface Aggregate {
  target: string;
  k: number;
  cases: number;
  dice: MeanSd;
  focusDice?: MeanSd;
  hd95?: MeanSd;
  assd?: MeanSd;
  /** Volumes whose surface distances are infinite (the prediction or the truth has no focus voxel): left out of hd95/assd's means. */
  noSurface?: number;
}

export interface RunReport {
  format: 'hyperseg-report';
  title: string;
  segmentation: string;
  data: SegmentSummary['data'];
  model: SegmentSummary['model'];
  path: string;
  aggregates: Aggregate[];
  cases: CaseScore[];
  /** Extra rows (the ablation's methods) shown in the table. */
  notes: string[];
  /** When nothing could be scored: why. */
  unscored?: string;
  /** Volumes segmented but not scored, and why (a label file of a single value). */
  skipped?: { id: string; reason: string }[];
}

/**
 * Mean and sample sd of the finite values, and how many there were (`n`). One value has no spread: its
 * sd is 0 in JSON, and the tables print the value alone rather than a meaningless "± 0.000".
 */
export function meanSd(values: number[]): Required<MeanSd> {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { mean: Number.NaN, sd: Number.NaN, n: 0 };
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, sd, n: v.length };
}

/** Whether every score is of one volume (no spread to state: tables say "one volume", not "± 0.000"). */
export const oneVolume = (aggregates: readonly Aggregate[]): boolean => aggregates.every((a) => a.dice.n === 1);

/** "0.851 ± 0.022", or "0.851" for a single value (no spread to state). */
export function formatMeanSd(x: MeanSd, digits = 3): string {
  return x.n === 1 ? x.mean.toFixed(digits) : `${x.mean.toFixed(digits)} ± ${x.sd.toFixed(digits)}`;
}

export async function readSegmentSummary(dir: string): Promise<SegmentSummary> {
  const p = join(dir, 'segment.json');
  if (!existsSync(dir)) throw new HypersegError('FILE_NOT_FOUND', `${dir}: no such folder`, { suggestion: 'give the --out folder of a hyperseg segment run' });
  if (!existsSync(p)) throw new HypersegError('FILE_NOT_FOUND', `${p}: not a segmentation folder (no segment.json)`, { suggestion: 'run hyperseg segment --out DIR first' });
  const s = await readJsonFile<unknown>(p, 'the segmentation summary');
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!isObject(s) || s.format !== 'hyperseg-segmentation') throw new HypersegError('FILE_FORMAT', `${p}: not a hyperseg segmentation summary`);
  // a newer summary may mean its files otherwise (it was scored silently); the fields evaluate reads are checked
  // here, so an edited or damaged file is named rather than failing later as a TypeError
  if (s.version !== SEGMENT_VERSION) throw new HypersegError('UNSUPPORTED', `${p}: segmentation summary version ${JSON.stringify(s.version)}; this hyperseg reads version ${SEGMENT_VERSION}`, { suggestion: 'segment again with this hyperseg, or score it with the version that wrote it' });
  if (!isObject(s.data) || !strings(s.data.inputs) || (s.data.read !== undefined && !isObject(s.data.read))) throw new HypersegError('FILE_FORMAT', `${p}: data must hold the input paths (data.inputs: a list of strings)`);
  if (!Array.isArray(s.cases)) throw new HypersegError('FILE_FORMAT', `${p}: cases must be a list`);
  s.cases.forEach((c: unknown, i) => {
    if (!isObject(c) || typeof c.id !== 'string' || !isObject(c.labels) || !Object.values(c.labels).every((f) => typeof f === 'string')) {
      throw new HypersegError('FILE_FORMAT', `${p}: cases[${i}] must be {id, labels: {k: file}, ...}, got ${JSON.stringify(c)?.slice(0, 200)}`);
    }
  });
  return s as unknown as SegmentSummary;
}

/** Scores every case and k of a segmentation folder. */
export async function scoreSegmentation(dir: string, options: { maxVoxels?: number } = {}): Promise<{ summary: SegmentSummary; cases: CaseScore[]; aggregates: Aggregate[]; unscored?: string; skipped?: { id: string; reason: string }[] }> {
  const root = resolve(dir);
  const summary = await readSegmentSummary(root);
  // read as segment read them (recorded), with a voxel limit raised here if asked; the label volumes too
  const read = { ...summary.data.read, ...(options.maxVoxels !== undefined ? { maxVoxels: options.maxVoxels } : {}) };
  const source = await openData(summary.data.inputs, 0, read);
  const byId = new Map(source.cases.map((c) => [c.id, c]));
  const cases: CaseScore[] = [];
  const skipped: { id: string; reason: string }[] = [];
  const truthKs = new Set<number>();
  for (const entry of summary.cases) {
    const ref = byId.get(entry.id);
    if (!ref) throw new HypersegError('INVALID_INPUT', `case ${entry.id} of ${root} is no longer in ${summary.data.inputs.join(', ')}`);
    const c = await ref.load();
    if (c.unscored) skipped.push({ id: c.id, reason: c.unscored });
    // a volume whose truth's k was not clustered is said to be unscored, and why (it showed '—' like one without truth)
    const missed = c.targets.filter((t) => !entry.labels[String(t.k)]);
    if (missed.length > 0 && missed.length === c.targets.length) {
      const ks = missed.map((t) => t.k).join(',');
      skipped.push({ id: c.id, reason: `its truth has ${missed.map((t) => t.k).join(' and ')} classes, and it was clustered with k = ${summary.ks.join(', ')} (segment again with --k ${ks}, or without --k)` });
    }
    for (const t of c.targets) {
      truthKs.add(t.k);
      const file = entry.labels[String(t.k)];
      if (!file) continue; // this k was not segmented
      const vol = await readNifti(join(root, file), { maxVoxels: read.maxVoxels });
      if (vol.shape.join() !== c.shape.join()) throw new HypersegError('SHAPE_MISMATCH', `${file} has shape ${vol.shape.join('×')}, the image ${c.shape.join('×')}`);
      if (gridRelation(vol.affine, c.header.affine) === 'orientation') {
        throw new HypersegError('INVALID_INPUT', `${join(root, file)} is oriented differently from its image ${ref.files[0]} (segment writes the image's affine: was the file replaced?)`, { suggestion: 'segment the volume again' });
      }
      const pred = labelData(vol, file);
      const r = evaluateSegmentation(pred, t.labels, { shape: c.shape, spacing: c.header.spacing, classes: t.classes, hungarian: true, surface: 'never' });
      const score: CaseScore = {
        id: c.id, target: t.name, k: t.k, meanDice: r.meanDice, meanIou: r.meanIou,
        classDice: Object.fromEntries(r.classes.map((x) => [String(x.label), x.dice])),
      };
      if (t.focus !== undefined) {
        const mapping = new Map(Object.entries(r.mapping ?? {}).map(([a, b]) => [Number(a), b]));
        const pm = new Uint8Array(pred.length);
        const tm = new Uint8Array(pred.length);
        for (let i = 0; i < pred.length; i++) {
          pm[i] = mapping.get(pred[i]) === t.focus ? 1 : 0;
          tm[i] = t.labels[i] === t.focus ? 1 : 0;
        }
        score.focusDice = r.classes.find((x) => x.label === t.focus)?.dice;
        const sd = surfaceDistances(pm, tm, c.shape, c.header.spacing);
        Object.assign(score, { hd95: sd.hd95, assd: sd.assd, hd: sd.hd, surfaceStatus: sd.status });
      }
      cases.push(score);
    }
  }
  const groups = new Map<string, CaseScore[]>();
  for (const s of cases) groups.set(`${s.target}|${s.k}`, [...(groups.get(`${s.target}|${s.k}`) ?? []), s]);
  const aggregates: Aggregate[] = [...groups.values()].map((g) => {
    const a: Aggregate = { target: g[0].target, k: g[0].k, cases: g.length, dice: meanSd(g.map((s) => s.meanDice)) };
    if (g[0].focusDice !== undefined) {
      a.focusDice = meanSd(g.map((s) => s.focusDice ?? Number.NaN));
      a.hd95 = meanSd(g.map((s) => s.hd95 ?? Number.NaN));
      a.assd = meanSd(g.map((s) => s.assd ?? Number.NaN));
      a.noSurface = g.filter((s) => !Number.isFinite(s.hd95 ?? Number.NaN)).length;
    }
    return a;
  });
  // why nothing was scored, when nothing was: no truth at all, or none at the k that were clustered
  let unscored: string | undefined;
  if (aggregates.length === 0) {
    unscored = truthKs.size === 0 && skipped.length > 0
      ? `every label file has a single value (${skipped.map((x) => x.id).join(', ')}): no classes to match clusters to`
      : truthKs.size === 0
      ? `no ground truth for these volumes (plain NIfTI files: put NAME_seg.nii.gz beside NAME.nii.gz; a BraTS case: <case>_seg.nii.gz in its folder)`
      : `the truth has ${[...truthKs].sort((a, b) => a - b).join(', ')} classes, and the volumes were clustered with k = ${summary.ks.join(', ')}: segment again with --k ${[...truthKs].sort((a, b) => a - b).join(',')} (or without --k)`;
  }
  return { summary, cases, aggregates, ...(unscored ? { unscored } : {}), ...(skipped.length ? { skipped } : {}) };
}

const f3 = (x: MeanSd | undefined) => (x && Number.isFinite(x.mean) ? formatMeanSd(x) : '—');
/** A surface-distance cell: over the volumes with both surfaces, saying how many when some have none (they were dropped silently). */
const fSurface = (x: MeanSd | undefined, a: Aggregate) => (a.noSurface ? `${f3(x)} (${a.cases - a.noSurface} of ${a.cases})` : f3(x));

/** Label-file targets of plain NIfTI data, by k (volumes may differ in their number of classes). */
const truthAggregates = (aggregates: Aggregate[]) => aggregates.filter((a) => a.target === 'truth').sort((a, b) => a.k - b.k);

/** The Markdown table for one method's aggregates (one row), columns per target. */
export function tableRow(name: string, aggregates: Aggregate[]): string {
  const synth = aggregates.filter((a) => a.target.startsWith('level')).sort((a, b) => a.target.localeCompare(b.target));
  const wt = aggregates.find((a) => a.target === 'whole-tumour');
  const cells: string[] = synth.map((a) => f3(a.dice));
  if (wt) cells.push(f3(wt.focusDice), fSurface(wt.hd95, wt), fSurface(wt.assd, wt));
  for (const a of truthAggregates(aggregates)) {
    cells.push(f3(a.dice));
    if (a.focusDice) cells.push(f3(a.focusDice), fSurface(a.hd95, a), fSurface(a.assd, a));
  }
  return `| ${name} | ${cells.join(' | ')} |`;
}

const fmt = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(3) : '—');

/** What the table's columns hold, in one sentence (a BraTS table's Dice is the tumour's, not an average). */
function scoresSentence(aggregates: Aggregate[]): string {
  const parts: string[] = [];
  if (aggregates.some((a) => a.target.startsWith('level'))) parts.push('Levels: average-class Dice after Hungarian matching of clusters to classes');
  if (aggregates.some((a) => a.target === 'whole-tumour')) {
    parts.push('Whole-tumour Dice: the k = 3 clusters matched (Hungarian) to background, brain and tumour, and the Dice of the tumour\'s; HD95 and ASSD of that tumour mask against the truth\'s');
  }
  if (truthAggregates(aggregates).length > 0) parts.push('Average-class Dice after Hungarian matching of clusters to the label file\'s classes (foreground Dice, HD95 and ASSD for two-class label files)');
  return parts.join('. ');
}

export function tableHeader(aggregates: Aggregate[]): string {
  const synth = aggregates.filter((a) => a.target.startsWith('level')).sort((a, b) => a.target.localeCompare(b.target));
  const cols = synth.map((a) => `Level ${a.target.slice(5)} (k = ${a.k})`);
  if (aggregates.some((a) => a.target === 'whole-tumour')) cols.push('Whole-tumour Dice (k = 3)', 'HD95 (mm)', 'ASSD (mm)');
  for (const a of truthAggregates(aggregates)) {
    cols.push(`Average-class Dice (k = ${a.k})`);
    if (a.focusDice) cols.push('Foreground Dice', 'HD95 (mm)', 'ASSD (mm)');
  }
  return `| Method | ${cols.join(' | ')} |\n|---|${cols.map(() => '---').join('|')}|`;
}

/** Evaluates DIR (a segmentation folder) and writes DIR/report.md and DIR/report.json. */
export async function evaluateRun(dir: string, options: { title?: string; method?: string; extra?: string[]; maxVoxels?: number } = {}): Promise<RunReport> {
  const root = resolve(dir);
  const { summary, cases, aggregates, unscored, skipped } = await scoreSegmentation(root, { maxVoxels: options.maxVoxels });
  const title = options.title ?? 'hyperseg segmentation report';
  const report: RunReport = {
    format: 'hyperseg-report', title, segmentation: root, data: summary.data, model: summary.model, path: summary.path, aggregates, cases, notes: options.extra ?? [], ...(unscored ? { unscored } : {}), ...(skipped ? { skipped } : {}),
  };
  const cfg = summary.model.config;
  const method = options.method ?? `${cfg.hyperbolic ? 'hyperbolic' : 'Euclidean'}${cfg.gyroconv ? ' + gyroconv' : ''}${cfg.triplet ? ' + triplet' : ''} (${cfg.preset})`;
  const lines = [
    `# ${title}`, '',
    `Data: ${summary.data.kind} (${summary.data.inputs.join(', ')}), split ${summary.data.split}, ${summary.cases.length} volume(s).`,
    `Model: ${summary.model.run ?? summary.model.weights}; preset ${cfg.preset}, latent dim ${cfg.latent_dim}, ${cfg.hyperbolic ? `Poincaré ball c = ${cfg.curvature}` : 'Euclidean'}.`,
    `Inference: ${summary.path} path, p = ${summary.p}; k-means (${cfg.hyperbolic ? 'Poincaré distance, Fréchet means' : 'Euclidean'}) for k = ${summary.ks.join(', ')}.`, '',
  ];
  if (aggregates.length === 0) {
    lines.push('No ground truth for these volumes: nothing to score. Segmentations and pictures are listed below.', '');
  } else {
    lines.push('## Scores', '', `${scoresSentence(aggregates)} (${oneVolume(aggregates) ? 'one volume' : 'mean ± sd over volumes'}).`, '', tableHeader(aggregates), tableRow(method, aggregates), ...(options.extra ?? []), '');
    if (aggregates.some((a) => a.noSurface)) lines.push('HD95 and ASSD are averaged over the volumes where prediction and truth both have a surface ("n of N"); a volume without one (an empty prediction, or no foreground in its truth) has no finite distance.', '');
  }
  if (skipped?.length) lines.push(`Not scored (${skipped.length} of ${summary.cases.length} volumes): ${skipped.map((x) => `${x.id}: ${x.reason}`).join('; ')}.`, '');
  lines.push('## Volumes', '', '| Volume | Embedding (s) | Voxels/s | Scores | Pictures |', '|---|---|---|---|---|');
  for (const e of summary.cases) {
    const hd = (s: CaseScore) => (s.hd95 !== undefined && Number.isFinite(s.hd95) ? s.hd95.toFixed(1) : `— (${s.surfaceStatus ?? 'no surface'})`);
    // the whole-tumour score is the tumour's Dice; the three classes' average is named as such (both were 'whole-tumour')
    const sc = cases.filter((s) => s.id === e.id).map((s) => (s.target === 'whole-tumour'
      ? `whole-tumour Dice ${fmt(s.focusDice)}, HD95 ${hd(s)} (average over the ${s.k} classes ${s.meanDice.toFixed(3)})`
      : `${s.target}: ${s.meanDice.toFixed(3)}${s.focusDice !== undefined ? ` (foreground ${fmt(s.focusDice)}, HD95 ${hd(s)})` : ''}`)).join('; ')
      || (skipped?.some((x) => x.id === e.id) ? 'not scored (see above)' : '');
    const pics = [e.montage, e.disk].filter(Boolean).map((p) => `[${String(p).split('/').pop()}](${p})`).join(' ');
    lines.push(`| ${e.id} | ${e.embedSeconds.toFixed(2)} | ${Math.round(e.voxelsPerSecond)} | ${sc || '—'} | ${pics} |`);
  }
  const first = summary.cases[0];
  if (first?.montage) {
    lines.push('', '## Pictures', '', `Slices of ${first.id}: the image, the clusters for k = ${summary.ks.join(', ')} (coloured like the class they match), then the ground truth.`, '', `![montage](${first.montage})`, '');
    const view = cfg.latent_dim <= 2 ? (cfg.hyperbolic ? 'on the Poincaré disk' : 'in the plane (scaled to the disk)')
      : cfg.hyperbolic ? `on the Poincaré disk (the ${cfg.latent_dim}-dimensional ball seen along its two principal geodesic directions at the origin)`
        : `along their two principal directions (of ${cfg.latent_dim}, scaled to the disk)`;
    if (first.disk) lines.push(`Embeddings of ${first.id} ${view}, by cluster (k = ${Math.max(...summary.ks)}) and by ground truth:`, '', `![disk](${first.disk})`, '');
  }
  lines.push('Report written by hyperseg from segment.json in this folder.', '');
  await writeFileAtomic(join(root, 'report.md'), lines.join('\n'));
  await writeFileAtomic(join(root, 'report.json'), `${JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1)}\n`);
  return report;
}
