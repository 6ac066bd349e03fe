/**
 * The pipeline's pictures: slice montages with label overlays, and the Poincaré disk with each
 * voxel's embedding coloured by cluster and by ground truth.
 */

import { Canvas, axialSlice, labelColour } from './canvas.js';
import { expmap0At, logmap0At } from '../geometry/poincare.js';
import type { Shape3 } from '../types.js';

export interface MontageColumn {
  title: string;
  /** Labels to overlay (null: the plain image). Label 0 is drawn transparent. */
  labels: ArrayLike<number> | null;
}

/** z-slices to show: the three with most foreground (label > 0 of `focus`) spread over the volume, else quartiles. */
export function pickSlices(shape: Shape3, focus: ArrayLike<number> | null, count = 3): number[] {
  const nz = shape[2];
  const quart = Array.from({ length: count }, (_, i) => Math.min(nz - 1, Math.floor(((i + 1) * nz) / (count + 1))));
  if (!focus) return quart;
  const per = shape[0] * shape[1];
  const fg = new Float64Array(nz);
  for (let z = 0; z < nz; z++) for (let i = z * per; i < (z + 1) * per; i++) if (focus[i] > 0) fg[z]++;
  const best = Array.from({ length: nz }, (_, z) => z).filter((z) => fg[z] > 0);
  if (best.length < count) return quart;
  // the foreground's quartile slices
  return Array.from({ length: count }, (_, i) => best[Math.floor(((i + 1) * best.length) / (count + 1))]);
}

/** Rows = slices, columns = the image then each overlay. */
export function montage(image: Float32Array, shape: Shape3, columns: MontageColumn[], slices: number[]): Canvas {
  const [nx, ny] = shape;
  const scale = Math.max(1, Math.floor(160 / Math.max(nx, ny)));
  const tw = nx * scale;
  const th = ny * scale;
  const pad = 6;
  const head = 14;
  const cv = new Canvas(columns.length * (tw + pad) + pad, head + slices.length * (th + pad) + pad);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < image.length; i += Math.max(1, Math.floor(image.length / 100_000))) {
    lo = Math.min(lo, image[i]);
    hi = Math.max(hi, image[i]);
  }
  columns.forEach((col, c) => {
    // a colour bar under no title text (PNG text needs a font); columns are described in the report
    cv.fill(pad + c * (tw + pad), 4, tw, 6, col.labels ? [90, 90, 90] : [200, 200, 200]);
  });
  slices.forEach((z, r) => {
    const img = axialSlice(image, shape, z);
    const y0 = head + r * (th + pad);
    columns.forEach((col, c) => {
      const x0 = pad + c * (tw + pad);
      cv.grey(img, nx, ny, x0, y0, scale, lo, hi);
      if (col.labels) cv.labels(axialSlice(col.labels, shape, z), nx, ny, x0, y0, scale, 0.5);
    });
  });
  return cv;
}

/**
 * Embeddings [N, d] as points of a disk, [N, 2], in units of its radius (1 = the ball's boundary for
 * hyperbolic embeddings). d ≤ 2: the coordinates themselves. d > 2: principal geodesic analysis at the
 * origin — log₀ to the tangent space, its two principal directions about 0 (the origin is the ball's
 * centre, so no centring; float64 power iteration on the d × d second-moment matrix), exp₀ back —
 * which keeps every point's distance to the origin along the kept directions, so the radial structure
 * (coarse near the centre, fine near the boundary) survives. Euclidean embeddings: the same projection
 * without the maps, scaled so the farthest point touches the rim.
 */
export function diskCoordinates(points: Float32Array | Float64Array, d: number, options: { hyperbolic: boolean; curvature?: number }): { xy: Float64Array; axes: Float64Array | null } {
  const n = Math.floor(points.length / d);
  const c = options.curvature ?? 1;
  const sc = Math.sqrt(c);
  const xy = new Float64Array(2 * n);
  let axes: Float64Array | null = null;
  if (d <= 2) {
    for (let i = 0; i < n; i++) {
      xy[2 * i] = points[i * d];
      xy[2 * i + 1] = d > 1 ? points[i * d + 1] : 0;
    }
  } else {
    const tangent = new Float64Array(n * d);
    if (options.hyperbolic) for (let i = 0; i < n; i++) logmap0At(points, i * d, d, c, tangent, i * d);
    else tangent.set(points);
    const m = new Float64Array(d * d); // Σ t tᵀ
    for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) m[a * d + b] += tangent[i * d + a] * tangent[i * d + b];
    axes = topEigenvectors(m, d, 2);
    const row = new Float64Array(2);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 2; k++) {
        let v = 0;
        for (let j = 0; j < d; j++) v += tangent[i * d + j] * axes[k * d + j];
        row[k] = v;
      }
      if (options.hyperbolic) expmap0At(row, 0, 2, c, xy, 2 * i, 'float64');
      else xy.set(row, 2 * i);
    }
  }
  let radius = 1 / sc;
  if (!options.hyperbolic) {
    radius = 1e-12;
    for (let i = 0; i < n; i++) radius = Math.max(radius, Math.hypot(xy[2 * i], xy[2 * i + 1]));
  }
  for (let i = 0; i < 2 * n; i++) xy[i] /= radius;
  return { xy, axes };
}

/** The `count` leading eigenvectors (rows, unit length) of a symmetric positive semi-definite d × d matrix, by power iteration with deflation. */
function topEigenvectors(matrix: Float64Array, d: number, count: number): Float64Array {
  const m = Float64Array.from(matrix);
  const out = new Float64Array(count * d);
  for (let k = 0; k < count; k++) {
    let v = new Float64Array(d).map((_, j) => 1 + j / d); // not orthogonal to any fixed axis
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) w[a] += m[a * d + b] * v[b];
      const norm = Math.hypot(...w);
      if (norm === 0) break; // rank exhausted: keep any unit vector orthogonal to the found ones
      let delta = 0;
      for (let a = 0; a < d; a++) {
        delta = Math.max(delta, Math.abs(w[a] / norm - v[a]));
        w[a] /= norm;
      }
      v = w;
      if (delta < 1e-13) break;
    }
    for (let j = 0; j < k; j++) { // re-orthogonalise against earlier vectors (exact deflation can drift)
      let p = 0;
      for (let a = 0; a < d; a++) p += v[a] * out[j * d + a];
      for (let a = 0; a < d; a++) v[a] -= p * out[j * d + a];
    }
    const norm = Math.hypot(...v) || 1;
    for (let a = 0; a < d; a++) out[k * d + a] = v[a] / norm;
    let lambda = 0; // Rayleigh quotient, then deflate
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) lambda += out[k * d + a] * matrix[a * d + b] * out[k * d + b];
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) m[a * d + b] -= lambda * out[k * d + a] * out[k * d + b];
  }
  return out;
}

/**
 * The embeddings on the disk (diskCoordinates: the coordinates for d ≤ 2, the two principal geodesic
 * directions at the origin for d > 2), one panel per colouring. `points`: [N, d]; `colourings`: per
 * panel a label per point.
 */
export function diskPlot(points: Float32Array, d: number, colourings: ArrayLike<number>[], options: { hyperbolic: boolean; curvature?: number; maxPoints?: number }): Canvas {
  const size = 320;
  const pad = 10;
  const n = points.length / d;
  const cv = new Canvas(colourings.length * (size + pad) + pad, size + 2 * pad);
  const { xy } = diskCoordinates(points, d, options);
  const stride = Math.max(1, Math.floor(n / (options.maxPoints ?? 20_000)));
  const r0 = size / 2 - 4;
  colourings.forEach((labels, panel) => {
    const cx = pad + panel * (size + pad) + size / 2;
    const cy = pad + size / 2;
    for (let a = 0; a < 2000; a++) {
      const t = (2 * Math.PI * a) / 2000;
      cv.blend(Math.round(cx + r0 * Math.cos(t)), Math.round(cy + r0 * Math.sin(t)), [60, 60, 60], 1);
    }
    for (let i = 0; i < n; i += stride) {
      const l = labels[i];
      cv.dot(cx + xy[2 * i] * r0, cy - xy[2 * i + 1] * r0, 1.2, l === 0 ? [150, 150, 150] : labelColour(l), 0.6);
    }
  });
  return cv;
}
