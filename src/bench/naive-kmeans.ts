/**
 * The clustering benchmark's baseline: hyperbolic k-means written the obvious way, as a direct port
 * of the published clustering code would be — points as arrays of arrays, every distance through an
 * allocated Möbius addition and artanh, every centroid a Fréchet mean over a freshly filtered list
 * of members with per-point allocations. Same algorithm and stopping rules as src/cluster/kmeans.ts,
 * so the two reach the same inertia from the same starting centres; only the engineering differs.
 * Not used outside the benchmark.
 */

type Point = number[];

function norm(v: Point): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

function mobiusAdd(x: Point, y: Point, c: number): Point {
  const xy = x.reduce((s, xi, i) => s + xi * y[i], 0);
  const x2 = x.reduce((s, xi) => s + xi * xi, 0);
  const y2 = y.reduce((s, yi) => s + yi * yi, 0);
  const den = 1 + 2 * c * xy + c * c * x2 * y2;
  return x.map((xi, i) => ((1 + 2 * c * xy + c * y2) * xi + (1 - c * x2) * y[i]) / den);
}

function distance(x: Point, y: Point, c: number): number {
  const diff = mobiusAdd(x.map((v) => -v), y, c);
  const s = Math.min(Math.sqrt(c) * norm(diff), 1 - 1e-15);
  return (2 / Math.sqrt(c)) * Math.atanh(s);
}

function frechetMean(members: Point[], init: Point, c: number, tol: number, maxIter: number): Point {
  const sc = Math.sqrt(c);
  let y = init.map((v) => v * sc);
  const xs = members.map((p) => p.map((v) => v * sc));
  for (let it = 0; it < maxIter; it++) {
    const alphas = xs.map((x) => {
      const u = x.reduce((s, xi, i) => s + (xi - y[i]) ** 2, 0) / ((1 - norm(x) ** 2) * (1 - norm(y) ** 2));
      const g = u < 1e-12 ? 4 : (2 * Math.acosh(1 + 2 * u)) / Math.sqrt(u * u + u);
      return g / (1 - norm(x) ** 2);
    });
    const a = alphas.reduce((s, v) => s + v, 0);
    const b = y.map((_, t) => xs.reduce((s, x, l) => s + alphas[l] * x[t], 0));
    const cc = xs.reduce((s, x, l) => s + alphas[l] * norm(x) ** 2, 0);
    const b2 = norm(b) ** 2;
    const next = b.map((v) => (2 * v) / (a + cc + Math.sqrt(Math.max((a + cc) ** 2 - 4 * b2, 0))));
    const moved = distance(next.map((v) => v / sc), y.map((v) => v / sc), c);
    y = next;
    if (moved < tol) break;
  }
  return y.map((v) => v / sc);
}

/** One k-means iteration (assign, then update); returns the new centres and the labels/inertia of the assignment. */
export function naiveIteration(points: Point[], centres: Point[], c: number): { labels: number[]; centres: Point[]; inertia: number } {
  const labels = points.map((p) => {
    const ds = centres.map((m) => distance(p, m, c));
    return ds.indexOf(Math.min(...ds));
  });
  const next = centres.map((m, j) => {
    const members = points.filter((_, i) => labels[i] === j);
    return members.length === 0 ? m : frechetMean(members, m, c, 1e-9, 100);
  });
  return { labels, centres: next, inertia: naiveInertia(points, labels, centres, c) };
}

export function naiveInertia(points: Point[], labels: number[], centres: Point[], c: number): number {
  return points.reduce((s, p, i) => s + distance(p, centres[labels[i]], c) ** 2, 0);
}

/** Converts a flat N × d array to arrays of arrays (the baseline's representation). */
export function toPoints(flat: ArrayLike<number>, d: number): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < flat.length; i += d) out.push(Array.from({ length: d }, (_, t) => flat[i + t]));
  return out;
}
