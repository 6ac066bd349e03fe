/**
 * A model sees the intensities its training data were mapped to, whatever kind of input it is later
 * given (inputs.ts, IntensityMapping): a volume segmented from its synth folder and the same file given
 * as a plain NIfTI file get the same embeddings, bit for bit. Before, the file was scaled to [0, 1] by its
 * percentiles, which a model trained on the folder never saw (level 1 of the quickstart's model fell from
 * 0.918 to 0.765 that way). Real files, a real torch worker.
 */

import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSynthDataset } from '../../src/data/dataset.js';
import { readNifti, scaledData, writeNifti } from '../../src/data/nifti.js';
import { readNpy } from '../../src/data/npy.js';
import { segment } from '../../src/pipeline/segment.js';
import { train } from '../../src/pipeline/train.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('hyperseg-intensity-');
const data = join(dir, 'ds');
const files = join(dir, 'files');
let testId = '';

const embeddings = async (seg: string, id: string) => (await readNpy(join(seg, id, 'embeddings.npy'))).data as Float32Array;
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** The percentile mapping written out naively: sort every value, take the 0.5th and 99.5th, scale and clip. */
function naiveRobustUnit(x: Float32Array): Float32Array {
  const s = Array.from(x).sort((a, b) => a - b);
  const lo = s[Math.floor(0.005 * (s.length - 1))];
  const hi = s[Math.ceil(0.995 * (s.length - 1))];
  return Float32Array.from(x, (v) => Math.min(1, Math.max(0, (v - lo) / (hi - lo))));
}

beforeAll(async () => {
  const m = await writeSynthDataset({ out: data, count: 6, size: 20, seed: 4 });
  testId = m.volumes.find((v) => v.split === 'test')!.id;
  // the same images as plain NIfTI files (no labels: nothing to score, only embeddings to compare)
  mkdirSync(files);
  for (const v of m.volumes) copyFileSync(join(data, v.image), join(files, `${v.id}.nii.gz`));
}, 60_000);

describe('intensity mapping follows the model', () => {
  it('a model trained on a synth folder: the folder\'s test volume and the same file given alone embed alike; --intensity robust-unit is the percentile mapping', async () => {
    const run = join(dir, 'run-synth');
    await train({ data: [data], out: run, steps: 2, batch: 4, threads: 1, seed: 1 });
    const common = { model: run, threads: 1, pictures: false, ks: [2] };
    const fromFolder = await segment({ ...common, input: [data], out: join(dir, 'seg-folder') });
    expect(fromFolder.data.intensity).toBe('as-is');
    const lines: string[] = [];
    const fromFile = await segment({ ...common, input: [join(files, `${testId}.nii.gz`)], out: join(dir, 'seg-file'), onLog: (l) => lines.push(l) });
    expect(fromFile.data.intensity).toBe('as-is');
    expect(lines.join('\n')).toContain('trained on synth data, whose intensities it saw as stored; these nifti inputs are mapped the same way, not scaled to [0, 1] by their 0.5th and 99.5th percentiles');
    const a = await embeddings(join(dir, 'seg-folder'), testId);
    expect(maxDiff(await embeddings(join(dir, 'seg-file'), testId), a)).toBe(0);

    // asked for, the file is scaled by its percentiles: the embeddings of a file holding that mapping, done naively
    const robust = await segment({ ...common, input: [join(files, `${testId}.nii.gz`)], out: join(dir, 'seg-robust'), intensity: 'robust-unit' });
    expect(robust.data.intensity).toBe('robust-unit');
    const vol = await readNifti(join(files, `${testId}.nii.gz`));
    const mapped = join(dir, 'mapped', `${testId}.nii.gz`);
    mkdirSync(join(dir, 'mapped'));
    await writeNifti(mapped, { shape: vol.shape, spacing: vol.spacing, affine: vol.affine, data: naiveRobustUnit(scaledData(vol)) });
    await segment({ ...common, input: [mapped], out: join(dir, 'seg-mapped') });
    const r = await embeddings(join(dir, 'seg-robust'), testId);
    expect(maxDiff(r, await embeddings(join(dir, 'seg-mapped'), testId))).toBeLessThan(1e-5);
    // and it is another input than the model's: the embeddings move (by 0.01 or more here)
    expect(maxDiff(r, a)).toBeGreaterThan(1e-3);
    expect(JSON.parse(readFileSync(join(dir, 'seg-robust', 'segment.json'), 'utf8')).data.intensity).toBe('robust-unit');
  }, 180_000);

  it('a model trained on plain NIfTI files reads a synth folder as it read its files (percentiles), not as stored', async () => {
    const run = join(dir, 'run-files');
    await train({ data: [files], out: run, steps: 2, batch: 4, threads: 1, seed: 1 });
    const common = { model: run, threads: 1, pictures: false, ks: [2] };
    const fromFolder = await segment({ ...common, input: [data], out: join(dir, 'seg2-folder') });
    expect(fromFolder.data.intensity).toBe('robust-unit');
    await segment({ ...common, input: [join(files, `${testId}.nii.gz`)], out: join(dir, 'seg2-file') });
    expect(maxDiff(await embeddings(join(dir, 'seg2-folder'), testId), await embeddings(join(dir, 'seg2-file'), testId))).toBe(0);
  }, 180_000);
});
