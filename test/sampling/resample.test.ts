import { describe, expect, it } from 'vitest';
import { denseWindowOrigin, type Grid, resampleBox, resampleVolume, voxelBox } from '../../src/sampling/resample.js';
import { voxelPatchBatches } from '../../src/sampling/patches.js';
import { Rng } from '../../src/random.js';

function grid(shape: [number, number, number], f: (x: number, y: number, z: number) => number): Grid {
  const [nx, ny, nz] = shape;
  const data = new Float32Array(nx * ny * nz);
  for (let z = 0, i = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) data[i] = f(x, y, z);
  return { data, shape };
}

/** Naive reference: trilinear value at a continuous centre-coordinate point, edge-clamped, in float64. */
function trilinear(g: Grid, x: number, y: number, z: number): number {
  const [nx, ny, nz] = g.shape;
  const at = (i: number, j: number, k: number) => g.data[i + nx * (j + ny * k)];
  const c = (v: number, n: number) => Math.min(Math.max(v, 0), n - 1);
  const [px, py, pz] = [c(x, nx), c(y, ny), c(z, nz)];
  const [i0, j0, k0] = [Math.floor(px), Math.floor(py), Math.floor(pz)];
  const [i1, j1, k1] = [Math.min(i0 + 1, nx - 1), Math.min(j0 + 1, ny - 1), Math.min(k0 + 1, nz - 1)];
  const [u, v, w] = [px - i0, py - j0, pz - k0];
  let s = 0;
  for (const [i, a] of [[i0, 1 - u], [i1, u]]) for (const [j, b] of [[j0, 1 - v], [j1, v]]) for (const [k, d] of [[k0, 1 - w], [k1, w]]) s += a * b * d * at(i, j, k);
  return s;
}

describe('resampling convention', () => {
  it('reproduces a constant volume exactly, for any box (inside, outside, partly outside)', () => {
    const g = grid([9, 7, 5], () => 3.25);
    const out = new Float32Array(1000);
    const rng = new Rng(1);
    for (let t = 0; t < 50; t++) {
      resampleBox(g, { start: [rng.uniform(-5, 10), rng.uniform(-5, 8), rng.uniform(-5, 6)], size: [rng.uniform(0.5, 12), rng.uniform(0.5, 12), rng.uniform(0.5, 12)] }, 10, out, 0);
      expect(out.every((v) => v === 3.25)).toBe(true);
    }
  });

  it('reproduces a linear volume exactly wherever no sample is clamped (sample j at start + (j + ½)·step − ½)', () => {
    const f = (x: number, y: number, z: number) => 0.5 * x - 0.25 * y + 0.125 * z + 2;
    const g = grid([30, 30, 30], f);
    const out = new Float32Array(1000);
    const rng = new Rng(2);
    for (let t = 0; t < 30; t++) {
      const size: [number, number, number] = [rng.uniform(2, 15), rng.uniform(2, 15), rng.uniform(2, 15)];
      const start: [number, number, number] = [rng.uniform(1, 14), rng.uniform(1, 14), rng.uniform(1, 14)];
      resampleBox(g, { start, size }, 10, out, 0);
      for (let k = 0, o = 0; k < 10; k++) {
        for (let j = 0; j < 10; j++) {
          for (let i = 0; i < 10; i++, o++) {
            const x = start[0] + ((i + 0.5) * size[0]) / 10 - 0.5;
            const y = start[1] + ((j + 0.5) * size[1]) / 10 - 0.5;
            const z = start[2] + ((k + 0.5) * size[2]) / 10 - 0.5;
            expect(Math.abs(out[o] - f(x, y, z))).toBeLessThan(2e-6);
          }
        }
      }
    }
  });

  it('equals a naive trilinear reference on random volumes, including clamped borders', () => {
    const rng = new Rng(3);
    const g = grid([11, 8, 6], () => rng.normal());
    const out = new Float32Array(6 * 6 * 6);
    for (let t = 0; t < 20; t++) {
      const box = { start: [rng.uniform(-3, 10), rng.uniform(-3, 7), rng.uniform(-3, 5)] as [number, number, number], size: [rng.uniform(1, 9), rng.uniform(1, 9), rng.uniform(1, 9)] as [number, number, number] };
      resampleBox(g, box, 6, out, 0);
      for (let k = 0, o = 0; k < 6; k++) for (let j = 0; j < 6; j++) for (let i = 0; i < 6; i++, o++) {
        const p = [0, 1, 2].map((a) => box.start[a] + (([i, j, k][a] + 0.5) * box.size[a]) / 6 - 0.5);
        expect(out[o]).toBeCloseTo(trilinear(g, p[0], p[1], p[2]), 5);
      }
    }
  });

  it('stays exact from one volume to a larger one in the same process (the scratch index map was not reset: wrong samples)', () => {
    // a small volume with many samples first (a large scratch list), then a volume with more rows: each
    // whole-volume resampling must equal the naive reference, whatever came before it
    const rng = new Rng(5);
    // [shape, planes of samples resampled in z]: the dense path's slabs cover a few planes of a volume
    const runs: [[number, number, number], number][] = [[[12, 12, 12], 32], [[20, 20, 9], 10], [[7, 30, 5], 18], [[12, 12, 12], 32], [[25, 6, 33], 12]];
    for (const [shape, planes] of runs) {
      const g = grid(shape, () => rng.normal());
      const lo: [number, number, number] = [-4, -4, -4];
      const hi: [number, number, number] = [2 * shape[0] + 4, 2 * shape[1] + 4, planes - 4];
      const r = resampleVolume(g, 5, 10, lo, hi);
      let worst = 0;
      for (let k = 0, o = 0; k < r.shape[2]; k++) for (let j = 0; j < r.shape[1]; j++) for (let i = 0; i < r.shape[0]; i++, o++) {
        const p = [i, j, k].map((v, a) => (lo[a] + v + 0.5) * 0.5 - 0.5);
        worst = Math.max(worst, Math.abs(r.data[o] - trilinear(g, p[0], p[1], p[2])));
      }
      expect(worst, shape.join('×')).toBeLessThan(1e-5);
    }
  });

  it('a box of one voxel per sample (step 1) returns the voxels themselves', () => {
    const rng = new Rng(4);
    const g = grid([8, 8, 8], () => rng.normal());
    const out = new Float32Array(27);
    resampleBox(g, { start: [2, 3, 4], size: [3, 3, 3] }, 3, out, 0);
    for (let k = 0, o = 0; k < 3; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 3; i++, o++) expect(out[o]).toBe(g.data[2 + i + 8 * (3 + j + 8 * (4 + k))]);
  });
});

describe('per-voxel patches equal windows of the once-resampled volume (the dense path is exact)', () => {
  // [10, 10] and [2, 10]: m − m/p odd, windows on a grid shifted by half a sample
  for (const [p, m] of [[5, 10], [3, 9], [5, 5], [2, 8], [10, 10], [2, 10]] as [number, number][]) {
    it(`p = ${p}, m = ${m}`, () => {
      const rng = new Rng(p * 100 + m);
      const shape: [number, number, number] = [9, 7, 6];
      const g = grid(shape, () => rng.normal());
      const lo = shape.map(() => denseWindowOrigin(0, p, m)) as [number, number, number];
      const hi = shape.map((n) => denseWindowOrigin(n - 1, p, m) + m) as [number, number, number];
      const dense = resampleVolume(g, p, m, lo, hi);
      const [dx, dy] = dense.shape;
      let checked = 0;
      for (const batch of voxelPatchBatches(g, p, m, 37)) {
        for (let b = 0; b < batch.count; b++) {
          const idx = batch.voxels[b];
          const v = [idx % 9, Math.floor(idx / 9) % 7, Math.floor(idx / 63)];
          const o = v.map((c, a) => denseWindowOrigin(c, p, m) - lo[a]);
          for (let k = 0, q = b * m ** 3; k < m; k++) {
            for (let j = 0; j < m; j++) {
              for (let i = 0; i < m; i++, q++) {
                expect(batch.patches[q]).toBe(dense.data[o[0] + i + dx * (o[1] + j + dy * (o[2] + k))]);
              }
            }
          }
          checked++;
        }
      }
      expect(checked).toBe(9 * 7 * 6);
    });
  }

  it('window origins: p = 5, m = 10 gives J₀ = 2v − 4; incompatible p, m are refused by name', () => {
    for (let v = 0; v < 20; v++) expect(denseWindowOrigin(v, 5, 10)).toBe(2 * v - 4);
    for (let v = 0; v < 20; v++) expect(denseWindowOrigin(v, 10, 10)).toBe(v - 4.5); // (v + 0.5 − 5)·1
    for (let v = 0; v < 20; v++) expect(denseWindowOrigin(v, 2, 10)).toBe(5 * v - 2.5); // (v + 0.5 − 1)·5
    expect(() => denseWindowOrigin(3, 4, 10)).toThrow(/do not put voxel windows on the resampled grid/);
  });

  it('voxelBox centres the box on the voxel centre', () => {
    expect(voxelBox(7, 0, 3, 5)).toEqual({ start: [5, -2, 1], size: [5, 5, 5] });
  });

  it('voxel subsets and bad indices', () => {
    const g = grid([4, 4, 4], (x) => x);
    const gen = voxelPatchBatches(g, 5, 10, 8, Int32Array.from([0, 63]));
    const first = gen.next().value;
    expect(first?.count).toBe(2);
    expect(Array.from(first?.voxels.subarray(0, 2) ?? [])).toEqual([0, 63]);
    expect(() => voxelPatchBatches(g, 5, 10, 8, Int32Array.from([64])).next()).toThrow(/outside the 4×4×4 volume/);
  });
});
