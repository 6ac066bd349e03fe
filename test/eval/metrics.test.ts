import { describe, expect, it } from 'vitest';
import { squaredEdt } from '../../src/eval/edt.js';
import type { Shape3, Spacing3 } from '../../src/types.js';
import { evaluateSegmentation } from '../../src/eval/evaluate.js';
import { matchClusters, relabel, UNMATCHED } from '../../src/eval/hungarian.js';
import { overlapScores } from '../../src/eval/overlap.js';
import { maskEdges, percentile, surfaceDistances } from '../../src/eval/surface.js';
import { Rng } from '../../src/random.js';

const coords = (idx: number, [nx, ny]: Shape3): [number, number, number] => [idx % nx, Math.floor(idx / nx) % ny, Math.floor(idx / (nx * ny))];

function randomMask(rng: Rng, shape: Shape3, p: number): Uint8Array {
  const n = shape[0] * shape[1] * shape[2];
  return Uint8Array.from({ length: n }, () => (rng.float() < p ? 1 : 0));
}

/** A blob: voxels inside a random ellipsoid (so that masks have interiors, not just noise). */
function blob(rng: Rng, shape: Shape3): Uint8Array {
  const [nx, ny, nz] = shape;
  const c = [rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(0, nz)];
  const r = [rng.uniform(1, nx / 2), rng.uniform(1, ny / 2), rng.uniform(1, nz / 2)];
  const out = new Uint8Array(nx * ny * nz);
  for (let i = 0; i < out.length; i++) {
    const [x, y, z] = coords(i, shape);
    out[i] = ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1 ? 1 : 0;
  }
  return out;
}

/** Brute force: min over all feature voxels of the physical squared distance. */
function bruteEdt(feature: Uint8Array, shape: Shape3, sp: Spacing3): Float64Array {
  const feats: number[][] = [];
  feature.forEach((f, i) => f && feats.push(coords(i, shape)));
  return Float64Array.from({ length: feature.length }, (_, i) => {
    const [x, y, z] = coords(i, shape);
    let best = Infinity;
    for (const [a, b, c] of feats) best = Math.min(best, ((x - a) * sp[0]) ** 2 + ((y - b) * sp[1]) ** 2 + ((z - c) * sp[2]) ** 2);
    return best;
  });
}

/** Brute-force MONAI surface distances: edges by the literal 6-neighbour rule, distances by all pairs. */
function bruteSurface(p: Uint8Array, t: Uint8Array, shape: Shape3, sp: Spacing3) {
  const [nx, ny, nz] = shape;
  const edges = (m: Uint8Array): number[][] => {
    const out: number[][] = [];
    m.forEach((v, i) => {
      if (!v) return;
      const [x, y, z] = coords(i, shape);
      const nb = [[x - 1, y, z], [x + 1, y, z], [x, y - 1, z], [x, y + 1, z], [x, y, z - 1], [x, y, z + 1]];
      const inside = (q: number[]) => q[0] >= 0 && q[0] < nx && q[1] >= 0 && q[1] < ny && q[2] >= 0 && q[2] < nz && m[q[0] + nx * (q[1] + ny * q[2])] === 1;
      if (!nb.every(inside)) out.push([x, y, z]);
    });
    return out;
  };
  const ep = edges(p);
  const et = edges(t);
  const dir = (A: number[][], B: number[][]) =>
    A.map((a) => Math.min(...B.map((b) => Math.hypot((a[0] - b[0]) * sp[0], (a[1] - b[1]) * sp[1], (a[2] - b[2]) * sp[2])))).sort((u, v) => u - v);
  const a = dir(ep, et);
  const b = dir(et, ep);
  const pct = (s: number[], q: number) => percentile(Float64Array.from(s), q);
  return {
    hd: Math.max(a[a.length - 1], b[b.length - 1]),
    hd95: Math.max(pct(a, 95), pct(b, 95)),
    assd: [...a, ...b].reduce((s, v) => s + v, 0) / (a.length + b.length),
  };
}

describe('squaredEdt (exact, anisotropic) equals brute force', () => {
  const rng = new Rng(5);
  for (const [shape, sp, p] of [
    [[7, 5, 4], [1, 1, 1], 0.05],
    [[9, 6, 5], [0.7, 1.3, 2.9], 0.03],
    [[1, 11, 6], [2, 0.5, 1], 0.1],
    [[12, 1, 1], [0.3, 1, 1], 0.2],
  ] as [Shape3, Spacing3, number][]) {
    it(`${shape.join('×')} spacing ${sp.join('×')}`, () => {
      for (let trial = 0; trial < 5; trial++) {
        const f = randomMask(rng, shape, p);
        if (!f.some((v) => v)) f[rng.int(f.length)] = 1;
        const fast = squaredEdt(f, shape, sp);
        const slow = bruteEdt(f, shape, sp);
        for (let i = 0; i < f.length; i++) expect(Math.abs(fast[i] - slow[i])).toBeLessThanOrEqual(1e-9 * (1 + slow[i]));
      }
    });
  }
  it('no feature at all gives +Infinity everywhere', () => {
    expect(squaredEdt(new Uint8Array(8), [2, 2, 2]).every((v) => v === Infinity)).toBe(true);
  });
});

describe('surfaceDistances (MONAI definitions) equal a brute force over surface-voxel pairs', () => {
  const rng = new Rng(17);
  for (const sp of [[1, 1, 1], [0.8, 1.7, 3.1]] as Spacing3[]) {
    it(`random blobs and noisy masks, spacing ${sp.join('×')}`, () => {
      const shape: Shape3 = [10, 8, 7];
      for (let trial = 0; trial < 12; trial++) {
        const p = trial % 3 === 0 ? randomMask(rng, shape, 0.3) : blob(rng, shape);
        const t = blob(rng, shape);
        if (!p.some((v) => v) || !t.some((v) => v)) continue;
        const fast = surfaceDistances(p, t, shape, sp);
        const slow = bruteSurface(p, t, shape, sp);
        expect(fast.status).toBe('ok');
        expect(fast.hd).toBeCloseTo(slow.hd, 9);
        expect(fast.hd95).toBeCloseTo(slow.hd95, 9);
        expect(fast.assd).toBeCloseTo(slow.assd, 9);
      }
    });
  }

  it('analytic case: two parallel slabs d voxels apart along an axis with spacing s give HD = HD95 = ASSD = d·s', () => {
    const shape: Shape3 = [6, 6, 20];
    const slab = (z0: number) => Uint8Array.from({ length: 720 }, (_, i) => (coords(i, shape)[2] === z0 ? 1 : 0));
    const r = surfaceDistances(slab(3), slab(10), shape, [1, 1, 2.5]);
    expect(r.hd).toBeCloseTo(17.5, 12);
    expect(r.hd95).toBeCloseTo(17.5, 12);
    expect(r.assd).toBeCloseTo(17.5, 12);
  });

  it('identical masks give 0; the empty-mask policy is typed, never a silent NaN', () => {
    const shape: Shape3 = [5, 5, 5];
    const m = blob(new Rng(1), shape);
    m[62] = 1;
    expect(surfaceDistances(m, m, shape).hd).toBe(0);
    const empty = new Uint8Array(125);
    expect(surfaceDistances(empty, empty, shape)).toMatchObject({ status: 'both-empty' });
    expect(Number.isNaN(surfaceDistances(empty, empty, shape).hd)).toBe(true);
    expect(surfaceDistances(empty, m, shape)).toMatchObject({ status: 'empty-prediction', hd: Infinity, hd95: Infinity });
    expect(surfaceDistances(m, empty, shape)).toMatchObject({ status: 'empty-truth', assd: Infinity });
    // the non-empty side's surface is counted as when both have one (it read 0)
    const own = surfaceDistances(m, m, shape).truthSurface;
    expect(own).toBeGreaterThan(0);
    expect(surfaceDistances(empty, m, shape)).toMatchObject({ predSurface: 0, truthSurface: own });
    expect(surfaceDistances(m, empty, shape)).toMatchObject({ predSurface: own, truthSurface: 0 });
  });

  it('maskEdges: a solid 3×3×3 cube inside a 5³ volume has 26 surface voxels; the volume border counts as background', () => {
    const shape: Shape3 = [5, 5, 5];
    const cube = Uint8Array.from({ length: 125 }, (_, i) => (coords(i, shape).every((v) => v >= 1 && v <= 3) ? 1 : 0));
    expect(maskEdges(cube, shape).reduce((a, b) => a + b, 0)).toBe(26);
    const full = new Uint8Array(125).fill(1);
    expect(maskEdges(full, shape).reduce((a, b) => a + b, 0)).toBe(125 - 27);
  });

  it('percentile interpolates linearly (numpy default)', () => {
    const s = Float64Array.from([1, 2, 3, 4, 10]);
    expect(percentile(s, 95)).toBeCloseTo(4 + 0.8 * 6, 12);
    expect(percentile(s, 50)).toBe(3);
    expect(percentile(s, 100)).toBe(10);
  });
});

describe('overlap scores', () => {
  it('Dice and IoU by hand; absent truth class is NaN, flagged, and skipped by the mean', () => {
    const truth = Int32Array.from([0, 0, 0, 1, 1, 1, 2, 2]);
    const pred = Int32Array.from([0, 0, 1, 1, 1, 2, 2, 2]);
    const r = overlapScores(pred, truth, [0, 1, 2, 3]);
    const [c0, c1, c2, c3] = r.classes;
    expect(c0.dice).toBeCloseTo((2 * 2) / (3 + 2), 12);
    expect(c1.dice).toBeCloseTo((2 * 2) / (3 + 3), 12);
    expect(c2.dice).toBeCloseTo((2 * 2) / (2 + 3), 12);
    expect(c1.iou).toBeCloseTo(2 / 4, 12);
    expect(c3.valid).toBe(false);
    expect(Number.isNaN(c3.dice)).toBe(true);
    expect(r.valid).toBe(3);
    expect(r.meanDice).toBeCloseTo((0.8 + 2 / 3 + 0.8) / 3, 12);
  });
  it('a class in the truth but missing from the prediction scores 0', () => {
    const r = overlapScores(Int32Array.from([0, 0, 0]), Int32Array.from([0, 1, 1]));
    expect(r.classes[1].dice).toBe(0);
  });
});

describe('Hungarian matching', () => {
  function bestByPermutation(pred: Int32Array, truth: Int32Array, k: number, classes: number[]): number {
    // brute force over all partial injective maps from classes to clusters
    let best = -1;
    const counts = (cl: number, c: number) => pred.reduce((s, p, i) => s + (p === cl && truth[i] === c ? 1 : 0), 0);
    const rec = (ci: number, used: Set<number>, acc: number) => {
      if (ci === classes.length) {
        best = Math.max(best, acc);
        return;
      }
      for (let cl = 0; cl < k; cl++) {
        if (used.has(cl)) continue;
        used.add(cl);
        rec(ci + 1, used, acc + counts(cl, classes[ci]));
        used.delete(cl);
      }
      rec(ci + 1, used, acc); // this class gets no cluster (overlaps are ≥ 0, so the max is unchanged for k ≥ classes)
    };
    rec(0, new Set(), 0);
    return best;
  }

  it('maximises total overlap for more, equal and fewer clusters than classes', () => {
    const rng = new Rng(2);
    for (const [k, nc] of [[3, 3], [5, 3], [2, 4], [6, 6]]) {
      for (let trial = 0; trial < 5; trial++) {
        const truth = Int32Array.from({ length: 300 }, () => rng.int(nc));
        const pred = Int32Array.from(truth, (t) => (rng.float() < 0.6 ? (t * 7 + 3) % k : rng.int(k)));
        const classes = Array.from({ length: nc }, (_, i) => i);
        const m = matchClusters(pred, truth, classes);
        expect(m.overlap).toBe(bestByPermutation(pred, truth, k, classes));
        const matched = [...m.mapping.values()].filter((v) => v !== UNMATCHED);
        expect(new Set(matched).size).toBe(matched.length); // one-to-one
        expect(matched.length).toBe(Math.min(k, nc));
      }
    }
  });

  it('relabels a permuted segmentation back to Dice 1', () => {
    const truth = Int32Array.from([0, 0, 1, 1, 2, 2, 2]);
    const pred = Int32Array.from([5, 5, 9, 9, 1, 1, 1]);
    const m = matchClusters(pred, truth);
    expect(overlapScores(relabel(pred, m.mapping), truth).meanDice).toBe(1);
  });

  it('evaluateSegmentation: Hungarian + binary task adds surface distances for the foreground only', () => {
    const shape: Shape3 = [6, 6, 6];
    const t = blob(new Rng(4), shape);
    t[0] = 1;
    const truth = Int32Array.from(t);
    const pred = Int32Array.from(t, (v) => (v ? 7 : 3)); // cluster ids swapped and arbitrary
    const r = evaluateSegmentation(pred, truth, { shape, hungarian: true, spacing: [1, 2, 3] });
    expect(r.meanDice).toBe(1);
    expect(r.binary).toBe(true);
    expect(Object.keys(r.surface ?? {})).toEqual(['1']);
    expect(r.surface?.['1'].hd).toBe(0);
    expect(r.mapping).toEqual({ '3': 0, '7': 1 });
  });
});
