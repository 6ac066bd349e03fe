/**
 * scripts/triplet-census.mjs (the README's count of which classes the sampler's triplets contrast):
 * its box classes against a one-axis count on a half-space label volume, and its census on volumes
 * whose answer is known.
 */

import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ES module script without types
import { boxClass, tripletCensus } from '../../scripts/triplet-census.mjs';
import { Rng } from '../../src/random.js';

const N = 24;
const shape = [N, N, N] as const;
const grid = { data: new Float32Array(N ** 3).map((_, i) => (i % 7) / 7), shape: [N, N, N] };

describe('triplet census', () => {
  it('classes a box by the share of cell voxel centres it holds (checked along one axis of a half-space cell)', () => {
    const cut = 11; // cell: x < 11
    const labels = new Uint8Array(N ** 3).map((_, i) => (i % N < cut ? 1 : 0));
    const rng = new Rng(4);
    const seen = new Set<string>();
    for (let t = 0; t < 2000; t++) {
      const size = [0, 1, 2].map(() => rng.uniform(3, 15));
      const start = size.map((s) => rng.uniform(0, N - s));
      // the voxel centres i + ½ inside [start, start + size) along x; y and z do not change the share
      let n = 0;
      let cell = 0;
      for (let i = 0; i < N; i++) {
        if (i + 0.5 >= start[0] && i + 0.5 <= start[0] + size[0]) {
          n++;
          if (i < cut) cell++;
        }
      }
      const f = cell / n;
      const want = f < 0.1 ? 'B' : f > 0.9 ? 'C' : 'M';
      const got = boxClass(labels, shape, Float64Array.from([...start, ...size]), 0);
      expect(got, `box x ${start[0]}..${start[0] + size[0]}: share ${f}`).toBe(want);
      seen.add(got);
    }
    expect([...seen].sort()).toEqual(['B', 'C', 'M']);
  });

  it('counts every triplet once: all background, all cell', () => {
    const bg = tripletCensus([grid], [new Uint8Array(N ** 3)], { batches: 5, batch: 8 });
    expect(bg).toEqual({ BBB: 40 });
    const cell = tripletCensus([grid, grid], [new Uint8Array(N ** 3).fill(1), new Uint8Array(N ** 3).fill(1)], { batches: 3, batch: 4 });
    expect(cell).toEqual({ CCC: 12 });
  });
});
