import { describe, expect, it } from 'vitest';
import { boxMean } from '../../src/data/filters.js';
import { Rng } from '../../src/random.js';
import { naiveBoxMean } from '../helpers/box-mean.js';

describe('box mean (the feature baselines)', () => {
  const shape = [7, 6, 5] as const;
  const rng = new Rng(4);
  const data = Float32Array.from({ length: 7 * 6 * 5 }, () => rng.normal());

  it('equals the literal average over the truncated box, for radii from 0 to beyond the volume', () => {
    for (const r of [0, 1, 2, 3, 9]) {
      const got = boxMean(data, shape, r);
      const want = naiveBoxMean(data, shape, r);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `radius ${r}, voxel ${i}`).toBeLessThan(1e-6); // float32 output
    }
    const all = data.reduce((a, b) => a + b, 0) / data.length;
    expect(boxMean(data, shape, 9)[17]).toBeCloseTo(all, 6); // a box covering the volume: the global mean
  });

  it('refuses a size mismatch and a bad radius', () => {
    expect(() => boxMean(data.subarray(1), shape, 1)).toThrow(/209 values for a 7×6×5 volume/);
    expect(() => boxMean(data, shape, 1.5)).toThrow(/radius must be an integer ≥ 0, got 1.5/);
  });
});
