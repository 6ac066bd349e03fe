/**
 * The pipeline's pictures: slice montages with label overlays, and the Poincaré disk with each
 * voxel's embedding coloured by cluster and by ground truth.
 */

import { Canvas, axialSlice, labelColour } from './canvas.js';
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
 * The first two embedding coordinates in the unit disk (Euclidean embeddings scaled into it),
 * one panel per colouring. `points`: [N, d]; `colourings`: per panel a label per point.
 */
export function diskPlot(points: Float32Array, d: number, colourings: ArrayLike<number>[], options: { hyperbolic: boolean; curvature?: number; maxPoints?: number }): Canvas {
  const size = 320;
  const pad = 10;
  const n = points.length / d;
  const cv = new Canvas(colourings.length * (size + pad) + pad, size + 2 * pad);
  let radius = 1 / Math.sqrt(options.curvature ?? 1);
  if (!options.hyperbolic) {
    radius = 1e-12;
    for (let i = 0; i < n; i++) radius = Math.max(radius, Math.hypot(points[i * d], d > 1 ? points[i * d + 1] : 0));
  }
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
      const x = points[i * d] / radius;
      const y = d > 1 ? points[i * d + 1] / radius : 0;
      const l = labels[i];
      cv.dot(cx + x * r0, cy - y * r0, 1.2, l === 0 ? [150, 150, 150] : labelColour(l), 0.6);
    }
  });
  return cv;
}
