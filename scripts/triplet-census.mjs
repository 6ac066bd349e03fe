// Which level-1 class each box of the training sampler's triplets covers (README, *Quality*: why the
// triplet term spreads the background). Run after `npm run build`:
//   node scripts/triplet-census.mjs DATA [BATCHES]
// DATA: a `hyperseg synth` folder; its training volumes and their level-1 labels. Each box (anchor,
// positive child, negative child) is classed by the share of cell voxels whose centres it holds:
// B background (< 10 %), C cell (> 90 %), M mixed. Prints the share of every anchor/positive/negative
// pattern over BATCHES (default 300) batches of 32, sampler seed 0, DESIGN's sizes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readNifti } from '../dist/data/nifti.js';
import { Rng } from '../dist/random.js';
import { TripletSampler, allocateTripletBatch } from '../dist/sampling/index.js';

/** B, C or M for the box at boxes[o..o+6) (start xyz, size xyz) over a 0/1 label volume (x fastest). */
export function boxClass(labels, shape, boxes, o) {
  const [nx, ny] = shape;
  const lo = [0, 1, 2].map((t) => Math.ceil(boxes[o + t] - 0.5));
  const hi = [0, 1, 2].map((t) => Math.floor(boxes[o + t] + boxes[o + 3 + t] - 0.5));
  let n = 0;
  let cell = 0;
  for (let z = lo[2]; z <= hi[2]; z++) {
    for (let y = lo[1]; y <= hi[1]; y++) {
      for (let x = lo[0]; x <= hi[0]; x++) {
        n++;
        if (labels[x + nx * (y + ny * z)] > 0) cell++;
      }
    }
  }
  const f = n > 0 ? cell / n : 0;
  return f < 0.1 ? 'B' : f > 0.9 ? 'C' : 'M';
}

/** Counts of each anchor/positive/negative pattern over `batches` batches drawn from `grids` ({data, shape}). */
export function tripletCensus(grids, labels, { batches = 300, batch = 32, seed = 0, sampler = {} } = {}) {
  const s = new TripletSampler(grids, sampler, new Rng(seed));
  const b = allocateTripletBatch(batch, s.config.m);
  const counts = {};
  for (let i = 0; i < batches; i++) {
    s.fill(b);
    for (let j = 0; j < batch; j++) {
      const v = b.volume[j];
      const key = [0, 1, 2].map((r) => boxClass(labels[v], grids[v].shape, b.boxes, j * 18 + r * 6)).join('');
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  return counts;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [data, batches = '300'] = process.argv.slice(2);
  if (!data) {
    console.error('usage: node scripts/triplet-census.mjs DATA [BATCHES]');
    process.exit(2);
  }
  const manifest = JSON.parse(readFileSync(join(data, 'manifest.json'), 'utf8'));
  const grids = [];
  const labels = [];
  for (const id of manifest.split.train) {
    const im = await readNifti(join(data, 'images', `${id}.nii.gz`));
    grids.push({ data: Float32Array.from(im.data), shape: im.shape });
    labels.push((await readNifti(join(data, 'labels', `${id}_level1.nii.gz`))).data);
  }
  const counts = tripletCensus(grids, labels, { batches: Number(batches) });
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const pct = (pick) => `${((100 * Object.entries(counts).filter(([k]) => pick(k)).reduce((a, [, v]) => a + v, 0)) / total).toFixed(1)} %`;
  console.log(`${total} triplets from ${grids.length} training volumes (anchor, positive, negative: B background, C cell, M mixed)`);
  for (const [k, v] of Object.entries(counts).sort((a, b) => b[1] - a[1])) console.log(`  ${k}  ${((100 * v) / total).toFixed(1)} %`);
  console.log(`negative background: ${pct((k) => k[2] === 'B')}`);
  console.log(`positive and negative both background: ${pct((k) => k[1] === 'B' && k[2] === 'B')}`);
  console.log(`a cell child against a background child: ${pct((k) => (k[1] === 'C' && k[2] === 'B') || (k[1] === 'B' && k[2] === 'C'))}`);
}
