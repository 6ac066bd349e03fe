import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import { type Grid, resampleBox } from '../../src/sampling/resample.js';
import { TripletSampler, allocateTripletBatch, resolveTripletConfig } from '../../src/sampling/triplets.js';

const rngGrid = (n: number, seed: number): Grid => {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: n ** 3 }, () => rng.normal()), shape: [n, n, n] };
};

function boxesOf(batch: ReturnType<typeof allocateTripletBatch>, b: number) {
  const o = b * 18;
  const box = (r: number) => ({ start: Array.from(batch.boxes.subarray(o + r * 6, o + r * 6 + 3)) as [number, number, number], size: Array.from(batch.boxes.subarray(o + r * 6 + 3, o + r * 6 + 6)) as [number, number, number] });
  return { a: box(0), p: box(1), n: box(2) };
}

describe('TripletSampler', () => {
  const vols = [rngGrid(50, 1), rngGrid(50, 2)];

  it('boxes obey the definition: anchor clipped to the volume, positive inside it, negative outside it, sizes in range', () => {
    const s = new TripletSampler(vols, {}, new Rng(7));
    const batch = allocateTripletBatch(64, 10);
    for (let rep = 0; rep < 10; rep++) {
      s.fill(batch);
      for (let b = 0; b < 64; b++) {
        const { a, p, n } = boxesOf(batch, b);
        const rIn = Math.min(...a.size);
        for (let t = 0; t < 3; t++) {
          expect(a.start[t]).toBeGreaterThanOrEqual(0);
          expect(a.start[t] + a.size[t]).toBeLessThanOrEqual(50 + 1e-9);
          expect(a.size[t]).toBeLessThan(35);
          expect(p.start[t]).toBeGreaterThanOrEqual(a.start[t] - 1e-9);
          expect(p.start[t] + p.size[t]).toBeLessThanOrEqual(a.start[t] + a.size[t] + 1e-9);
          expect(n.size[t]).toBe(p.size[t]);
          expect(n.start[t]).toBeGreaterThanOrEqual(0);
          expect(n.start[t] + n.size[t]).toBeLessThanOrEqual(50 + 1e-9);
        }
        expect(p.size[0]).toBeGreaterThanOrEqual(3);
        expect(p.size[0]).toBeLessThan(Math.min(15, rIn - 1));
        const disjoint = [0, 1, 2].some((t) => n.start[t] + n.size[t] <= a.start[t] || a.start[t] + a.size[t] <= n.start[t]);
        expect(disjoint).toBe(true);
      }
    }
  });

  it('each patch is its recorded box resampled to m³ (from the recorded volume)', () => {
    const s = new TripletSampler(vols, {}, new Rng(8));
    const batch = allocateTripletBatch(8, 10);
    s.fill(batch);
    const out = new Float32Array(1000);
    for (let b = 0; b < 8; b++) {
      const { a, p, n } = boxesOf(batch, b);
      const g = vols[batch.volume[b]];
      for (const [box, view] of [[a, batch.anchor], [p, batch.positive], [n, batch.negative]] as const) {
        resampleBox(g, box, 10, out, 0);
        expect(Array.from(view.subarray(b * 1000, (b + 1) * 1000))).toEqual(Array.from(out));
      }
    }
  });

  it('anchor sizes follow U(rMin, rMax) or log-uniform (unclipped anchors away from the border)', () => {
    const big = [rngGrid(120, 3)];
    for (const scale of ['uniform', 'log'] as const) {
      const s = new TripletSampler(big, { scale, rMin: 5, rMax: 35 }, new Rng(9));
      const batch = allocateTripletBatch(256, 10);
      const sizes: number[] = [];
      for (let rep = 0; rep < 8; rep++) {
        s.fill(batch);
        for (let b = 0; b < 256; b++) {
          const { a } = boxesOf(batch, b);
          if (Math.abs(a.size[0] - a.size[1]) < 1e-9 && Math.abs(a.size[1] - a.size[2]) < 1e-9) sizes.push(a.size[0]); // unclipped (up to round-off of hi − lo)
        }
      }
      const mean = sizes.reduce((x, y) => x + y, 0) / sizes.length;
      // An anchor of side r escapes clipping with probability ((120 − r)/120)³: E[r | unclipped] by
      // numerical integration against the density of U(5, 35) (∝ 1) or log-U (∝ 1/r).
      let num = 0;
      let den = 0;
      for (let r = 5.0005; r < 35; r += 0.001) {
        const w = ((120 - r) / 120) ** 3 * (scale === 'uniform' ? 1 : 1 / r);
        num += r * w;
        den += w;
      }
      expect(sizes.length).toBeGreaterThan(500);
      expect(Math.abs(mean - num / den)).toBeLessThan(0.6);
    }
  });

  it('is reproducible for a seed and different for another', () => {
    const run = (seed: number) => {
      const s = new TripletSampler(vols, {}, new Rng(seed));
      const b = allocateTripletBatch(4, 10);
      s.fill(b);
      return Array.from(b.all ?? []);
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it('skipBelow never yields a pure-background anchor', () => {
    const n = 40;
    const data = new Float32Array(n ** 3);
    for (let i = 0; i < data.length; i++) if (i % n < 8 && Math.floor(i / n) % n < 8 && Math.floor(i / (n * n)) < 8) data[i] = 1; // a small bright corner cube
    const s = new TripletSampler([{ data, shape: [n, n, n] }], { skipBelow: 0 }, new Rng(10));
    const batch = allocateTripletBatch(32, 10);
    s.fill(batch);
    for (let b = 0; b < 32; b++) expect(batch.anchor.subarray(b * 1000, (b + 1) * 1000).some((v) => v > 0)).toBe(true);
  });

  it('batches(): reuses `inFlight` buffers in turn, laid out [3, B, 1, m, m, m]', () => {
    const s = new TripletSampler(vols, { m: 6 }, new Rng(11));
    const seen: Float32Array[] = [];
    for (const b of s.batches(5, 3, 2)) {
      seen.push(b.all as Float32Array);
      expect(b.all?.length).toBe(3 * 3 * 216);
      expect(b.anchor.buffer).toBe(b.all?.buffer);
      expect(b.negative.byteOffset).toBe(2 * 3 * 216 * 4);
    }
    expect(new Set(seen).size).toBe(2);
  });

  it('intensity jitter: each patch is its recorded box resampled, then μ + g·(x − μ) + o·σ with g in [1 − a, 1 + a], o in [−b, b] (its volume\'s mean and sd), drawn independently per patch', () => {
    // volumes with other means and spreads than N(0, 1): μ and σ must be each volume's own
    const shifted = vols.map((v, i) => ({ shape: v.shape, data: v.data.map((x) => 3 + (i + 1) * 0.5 * x) }));
    const stats = shifted.map((v) => {
      let m = 0;
      for (const x of v.data) m += x;
      m /= v.data.length;
      let ss = 0;
      for (const x of v.data) ss += (x - m) ** 2;
      return { m, sd: Math.sqrt(ss / v.data.length) };
    });
    expect(stats[1].sd / stats[0].sd).toBeCloseTo(2, 1);
    const [a, bOff] = [0.15, 0.5];
    const s = new TripletSampler(shifted, { jitter: [a, bOff] }, new Rng(9));
    const batch = allocateTripletBatch(64, 10);
    const plain = new Float32Array(1000);
    const gains: number[] = [];
    const offsets: number[] = [];
    for (let rep = 0; rep < 4; rep++) {
      s.fill(batch);
      for (let b = 0; b < 64; b++) {
        const boxes = boxesOf(batch, b);
        const { m, sd } = stats[batch.volume[b]];
        const perRole: number[] = [];
        for (const [box, view] of [[boxes.a, batch.anchor], [boxes.p, batch.positive], [boxes.n, batch.negative]] as const) {
          resampleBox(shifted[batch.volume[b]], box, 10, plain, 0);
          const got = view.subarray(b * 1000, (b + 1) * 1000);
          // least-squares line got = g·plain + c, then o = (c − μ(1 − g))/σ
          let mx = 0;
          let my = 0;
          for (let i = 0; i < 1000; i++) {
            mx += plain[i];
            my += got[i];
          }
          mx /= 1000;
          my /= 1000;
          let sxy = 0;
          let sxx = 0;
          for (let i = 0; i < 1000; i++) {
            sxy += (plain[i] - mx) * (got[i] - my);
            sxx += (plain[i] - mx) ** 2;
          }
          const g = sxy / sxx;
          const c = my - g * mx;
          let worst = 0;
          for (let i = 0; i < 1000; i++) worst = Math.max(worst, Math.abs(got[i] - (g * plain[i] + c)));
          expect(worst).toBeLessThan(1e-5 * (1 + Math.abs(m)));
          const o = (c - m * (1 - g)) / sd;
          expect(g).toBeGreaterThanOrEqual(1 - a - 1e-5);
          expect(g).toBeLessThanOrEqual(1 + a + 1e-5);
          expect(Math.abs(o)).toBeLessThanOrEqual(bOff + 1e-4);
          gains.push(g);
          offsets.push(o);
          perRole.push(g);
        }
        expect(new Set(perRole.map((g) => g.toFixed(6))).size).toBe(3); // three draws, not one per triplet
      }
    }
    // uniform draws: 768 gains and offsets fill their ranges, means near the centre (sd of the mean ≈ range/√(12·768))
    const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
    expect(Math.abs(mean(gains) - 1)).toBeLessThan(0.01);
    expect(Math.abs(mean(offsets))).toBeLessThan(0.04);
    expect(Math.min(...gains)).toBeLessThan(1 - 0.9 * a);
    expect(Math.max(...offsets)).toBeGreaterThan(0.9 * bOff);
    const varO = mean(offsets.map((o) => o * o));
    expect(Math.abs(varO - bOff ** 2 / 3) / (bOff ** 2 / 3)).toBeLessThan(0.15);
  });

  it('intensity jitter off ([0, 0], the default) draws nothing: the batches of a sampler without it, bit for bit', () => {
    const one = allocateTripletBatch(16, 10);
    const two = allocateTripletBatch(16, 10);
    const s1 = new TripletSampler(vols, {}, new Rng(11));
    const s2 = new TripletSampler(vols, { jitter: [0, 0] }, new Rng(11));
    for (let rep = 0; rep < 3; rep++) {
      s1.fill(one);
      s2.fill(two);
      expect(two.all!.every((v, i) => Object.is(v, one.all![i]))).toBe(true);
    }
    // and on, the boxes are the same draws only for the first triplet (the jitter draws follow its boxes)
    const s3 = new TripletSampler(vols, { jitter: [0.1, 0] }, new Rng(11));
    const s4 = new TripletSampler(vols, {}, new Rng(11));
    s3.fill(one);
    s4.fill(two);
    expect(Array.from(one.boxes.subarray(0, 18))).toEqual(Array.from(two.boxes.subarray(0, 18)));
    expect(Array.from(one.boxes.subarray(18, 36))).not.toEqual(Array.from(two.boxes.subarray(18, 36)));
  });

  it('rejects bad configurations and volumes too small to sample, by name', () => {
    for (const jitter of [[1, 0], [-0.1, 0], [0.1, -1], [Number.NaN, 0], [0.1], [0.1, 0.2, 0.3]]) {
      expect(() => resolveTripletConfig({ jitter: jitter as [number, number] }), JSON.stringify(jitter)).toThrow(/jitter must be \[gain, offset\] with 0 ≤ gain < 1 and offset ≥ 0/);
    }
    expect(() => resolveTripletConfig({ rMin: 10, rMax: 5 })).toThrow(/need 0 < rMin < rMax/);
    expect(() => resolveTripletConfig({ rMax: 4, lMin: 3 })).toThrow(/rMin < rMax|must exceed lMin/);
    expect(() => new TripletSampler([], {}, new Rng(1))).toThrow(/no volumes/);
    expect(() => new TripletSampler([rngGrid(3, 1)], {}, new Rng(1))).toThrow(/too small/);
    const tiny = new TripletSampler([rngGrid(6, 1)], { maxAttempts: 50 }, new Rng(1));
    expect(() => tiny.fill(allocateTripletBatch(2, 10))).toThrow(/no valid triplet in 50 attempts/);
  });
});
