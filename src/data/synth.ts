/**
 * The synthetic hierarchical dataset (DESIGN §4): cryo-ET-inspired 3-D volumes whose voxels carry a
 * three-level nested label tree.
 *
 *   level 1 (2)   background                  | cell
 *   level 2 (4)   background                  | cell body            | vesicle               | granule
 *   level 3 (8)   medium, debris              | cytoplasm, membrane  | lumen, core           | matrix, inclusion
 *
 * Every finer class lies inside exactly one coarser class (PARENT_3, PARENT_2). Classes differ by
 * shape (one large deformed ellipsoid, spheres, rotated ellipsoids, thin shells, small dots), size,
 * mean intensity and texture (smooth, fine-grained, striped, coarse-blobbed, grainy), and the
 * intensity ranges of the cell-interior classes overlap, so that texture, not only brightness,
 * separates them. The irregular variant perturbs every boundary with a smooth random field.
 *
 * Deterministic: volume i is drawn from stream i of the seed, so the same seed gives the same
 * bytes whatever the count, and a dataset can be regenerated volume by volume.
 */

import { Rng } from '../random.js';
import { smoothNoise } from './noise.js';

/** Bumped whenever the generator's output for a given seed changes. */
export const SYNTH_VERSION = 1;

export const LEVEL_NAMES: readonly (readonly string[])[] = [
  ['background', 'cell'],
  ['background', 'cell body', 'vesicle', 'granule'],
  ['medium', 'debris', 'cytoplasm', 'membrane', 'vesicle lumen', 'vesicle core', 'granule matrix', 'granule inclusion'],
];
/** Level-3 class → its level-2 parent. */
export const PARENT_3: readonly number[] = [0, 0, 1, 1, 2, 2, 3, 3];
/** Level-2 class → its level-1 parent. */
export const PARENT_2: readonly number[] = [0, 1, 1, 1];

/** Per level-3 class: mean intensity, texture amplitude, white-noise amplitude. */
const APPEARANCE: readonly { mean: number; texture: number; grain: number }[] = [
  { mean: 0.2, texture: 0.08, grain: 0.04 }, // medium: smooth, slowly varying
  { mean: 0.5, texture: 0.0, grain: 0.16 }, // debris: grainy
  { mean: 0.45, texture: 0.12, grain: 0.04 }, // cytoplasm: fine-grained
  { mean: 0.72, texture: 0.0, grain: 0.05 }, // membrane: bright, thin
  { mean: 0.42, texture: 0.14, grain: 0.04 }, // vesicle lumen: striped
  { mean: 0.75, texture: 0.04, grain: 0.03 }, // vesicle core: bright, smooth
  { mean: 0.52, texture: 0.14, grain: 0.04 }, // granule matrix: coarse blobs
  { mean: 0.3, texture: 0.0, grain: 0.05 }, // granule inclusion: dark dots
];

export interface SynthVolume {
  shape: [number, number, number];
  image: Float32Array;
  /** labels[0], [1], [2]: levels 1, 2, 3. */
  labels: [Uint8Array, Uint8Array, Uint8Array];
}

interface Ellipsoid {
  c: [number, number, number];
  r: [number, number, number];
  /** Rows of a rotation matrix. */
  R: number[];
}


function rotation(rng: Rng): number[] {
  // Uniform random rotation from a unit quaternion.
  let q: number[];
  let n: number;
  do {
    q = [rng.normal(), rng.normal(), rng.normal(), rng.normal()];
    n = Math.hypot(...q);
  } while (n < 1e-6);
  const [w, x, y, z] = q.map((v) => v / n);
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

/** Normalised radius ‖R(p − c)/r‖ (< 1 inside). */
function rho(e: Ellipsoid, x: number, y: number, z: number): number {
  const dx = x - e.c[0];
  const dy = y - e.c[1];
  const dz = z - e.c[2];
  const R = e.R;
  const u = (R[0] * dx + R[1] * dy + R[2] * dz) / e.r[0];
  const v = (R[3] * dx + R[4] * dy + R[5] * dz) / e.r[1];
  const w = (R[6] * dx + R[7] * dy + R[8] * dz) / e.r[2];
  return Math.sqrt(u * u + v * v + w * w);
}

const sphere = (c: [number, number, number], r: number): Ellipsoid => ({ c, r: [r, r, r], R: [1, 0, 0, 0, 1, 0, 0, 0, 1] });

/** Generates volume `index` of the dataset with `seed` (see the module header). */
export function synthVolume(index: number, seed: number, size = 50, irregular = false): SynthVolume {
  const rng = new Rng(seed, index);
  const shape: [number, number, number] = [size, size, size];
  const n = size ** 3;
  const s = size / 50; // sizes below are for 50³ and scale with the volume

  const cell: Ellipsoid = {
    c: [size / 2 + rng.uniform(-2, 2) * s, size / 2 + rng.uniform(-2, 2) * s, size / 2 + rng.uniform(-2, 2) * s],
    r: [rng.uniform(17, 21) * s, rng.uniform(17, 21) * s, rng.uniform(15, 19) * s],
    R: rotation(rng),
  };
  const cellMin = Math.min(...cell.r);
  const cellMean = (cell.r[0] + cell.r[1] + cell.r[2]) / 3;
  const insideCell = (p: [number, number, number], margin: number) => rho(cell, p[0], p[1], p[2]) <= 1 - margin / cellMin;

  const placed: { c: [number, number, number]; r: number }[] = [];
  const place = (radius: number, inside: boolean): [number, number, number] | null => {
    for (let t = 0; t < 300; t++) {
      const p: [number, number, number] = [rng.uniform(radius, size - radius), rng.uniform(radius, size - radius), rng.uniform(radius, size - radius)];
      const ok = inside ? insideCell(p, radius + 0.5 * s) : rho(cell, p[0], p[1], p[2]) >= 1 + (radius + 2 * s) / cellMin;
      if (!ok || placed.some((q) => Math.hypot(q.c[0] - p[0], q.c[1] - p[1], q.c[2] - p[2]) < q.r + radius + 1 * s)) continue;
      placed.push({ c: p, r: radius });
      return p;
    }
    return null;
  };

  // Granules (placed first: the largest): rotated ellipsoids with small inclusions. Vesicles:
  // spheres with a concentric core.
  const granules: { body: Ellipsoid; inclusions: Ellipsoid[] }[] = [];
  const nGran = 2 + rng.int(2);
  for (let i = 0; i < nGran; i++) {
    const r: [number, number, number] = [rng.uniform(6, 8) * s, rng.uniform(4, 5.5) * s, rng.uniform(4, 5.5) * s];
    const c = place(r[0], true);
    if (!c) continue;
    const body: Ellipsoid = { c, r, R: rotation(rng) };
    const inclusions: Ellipsoid[] = [];
    const nInc = 2 + rng.int(3);
    for (let j = 0; j < nInc; j++) {
      const ir = rng.uniform(1.5, 2.2) * s;
      for (let t = 0; t < 50; t++) {
        const p: [number, number, number] = [c[0] + rng.uniform(-r[0], r[0]), c[1] + rng.uniform(-r[1], r[1]), c[2] + rng.uniform(-r[2], r[2])];
        if (rho(body, p[0], p[1], p[2]) < 0.55) {
          inclusions.push(sphere(p, ir));
          break;
        }
      }
    }
    granules.push({ body, inclusions });
  }
  const vesicles: { body: Ellipsoid; core: Ellipsoid }[] = [];
  const nVes = 3 + rng.int(3);
  for (let i = 0; i < nVes; i++) {
    const r = rng.uniform(4, 6) * s;
    const c = place(r, true);
    if (c) vesicles.push({ body: sphere(c, r), core: sphere([c[0] + rng.uniform(-0.5, 0.5), c[1], c[2]], r * rng.uniform(0.45, 0.6)) });
  }
  const debris: Ellipsoid[] = [];
  const nDebris = 5 + rng.int(6);
  for (let i = 0; i < nDebris; i++) {
    const r = rng.uniform(1.5, 2.8) * s;
    const c = place(r, false);
    if (c) debris.push(sphere(c, r));
  }

  // Textures: smooth (medium), fine (cytoplasm), coarse (granule matrix), stripes (vesicle lumen).
  const smooth = smoothNoise(shape, Math.max(1, Math.round(4 * s)), rng);
  const fine = smoothNoise(shape, 1, rng);
  const coarse = smoothNoise(shape, Math.max(1, Math.round(2 * s)), rng);
  const pert = irregular ? smoothNoise(shape, Math.max(1, Math.round(4 * s)), rng) : null;
  const dir = [rng.normal(), rng.normal(), rng.normal()];
  const dn = Math.hypot(...dir);
  const stripeK = (2 * Math.PI) / (3 * s);
  const amp = 0.12; // boundary perturbation, in units of normalised radius
  const membraneWidth = (2.2 * s) / cellMean;
  // Culling radius: the perturbation moves a boundary by at most ~amp·max|pert| in normalised radius.
  const reach = 1 + (pert ? amp * 6 : 0);

  const l3 = new Uint8Array(n);
  const inCell = new Uint8Array(n);
  for (let z = 0, i = 0; z < size; z++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++, i++) {
        const rc = rho(cell, x, y, z) + (pert ? amp * pert[i] : 0);
        if (rc < 1) {
          inCell[i] = 1;
          l3[i] = rc > 1 - membraneWidth ? 3 : 2;
        }
      }
    }
  }
  // Objects are painted over their bounding boxes in a fixed order (later ones win): debris outside
  // the cell; inside it vesicles (lumen, then core) and granules (matrix, then inclusions).
  const paint = (e: Ellipsoid, pertScale: number, where: 0 | 1, test: (i: number) => boolean, label: number): void => {
    const m = reach * Math.max(e.r[0], e.r[1], e.r[2]);
    const lo = e.c.map((c) => Math.max(0, Math.floor(c - m)));
    const hi = e.c.map((c) => Math.min(size - 1, Math.ceil(c + m)));
    for (let z = lo[2]; z <= hi[2]; z++) {
      for (let y = lo[1]; y <= hi[1]; y++) {
        for (let x = lo[0], i = lo[0] + size * (y + size * z); x <= hi[0]; x++, i++) {
          if (inCell[i] !== where || !test(i)) continue;
          if (rho(e, x, y, z) + (pert ? pertScale * amp * pert[i] : 0) < 1) l3[i] = label;
        }
      }
    }
  };
  const any = () => true;
  for (const e of debris) paint(e, 0.5, 0, any, 1);
  for (const v of vesicles) {
    paint(v.body, 1, 1, any, 4);
    paint(v.core, 1, 1, (i) => l3[i] === 4, 5);
  }
  for (const g of granules) {
    paint(g.body, 1, 1, any, 6);
    for (const inc of g.inclusions) paint(inc, 0.5, 1, (i) => l3[i] === 6, 7);
  }

  const mean = Float64Array.from(APPEARANCE, (a) => a.mean);
  const texture = Float64Array.from(APPEARANCE, (a) => a.texture);
  const grain = Float64Array.from(APPEARANCE, (a) => a.grain);
  const image = new Float32Array(n);
  for (let z = 0, i = 0; z < size; z++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++, i++) {
        const label = l3[i];
        let tex = 0;
        if (label === 0 || label === 5) tex = smooth[i];
        else if (label === 2) tex = fine[i];
        else if (label === 4) tex = Math.SQRT2 * Math.sin((stripeK * (dir[0] * x + dir[1] * y + dir[2] * z)) / dn);
        else if (label === 6) tex = coarse[i];
        image[i] = mean[label] + texture[label] * tex + grain[label] * rng.normal();
      }
    }
  }
  const l2 = new Uint8Array(n);
  const l1 = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    l2[i] = PARENT_3[l3[i]];
    l1[i] = PARENT_2[l2[i]];
  }
  return { shape, image, labels: [l1, l2, l3] };
}

/** The 80/20/20 split (proportions 2/3, 1/6, 1/6 for other counts), shuffled by the seed. */
export function synthSplit(count: number, seed: number): { train: number[]; val: number[]; test: number[] } {
  const rng = new Rng(seed, 0x5eed5);
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nTrain = Math.round((count * 2) / 3);
  const nVal = Math.round((count - nTrain) / 2);
  const sort = (a: number[]) => a.sort((p, q) => p - q);
  return { train: sort(order.slice(0, nTrain)), val: sort(order.slice(nTrain, nTrain + nVal)), test: sort(order.slice(nTrain + nVal)) };
}
