/**
 * Local filters over a volume (x fastest, as NIfTI stores it): what the feature baselines compute.
 */

import { HypersegError } from '../errors.js';
import type { Shape3 } from '../types.js';

/**
 * The mean of each voxel's (2·radius + 1)³ box, over the voxels of the box that lie inside the volume
 * (a truncated window: no padding value enters the mean). Separable running sums in float64, O(N)
 * whatever the radius.
 */
export function boxMean(data: ArrayLike<number>, shape: Shape3, radius: number): Float32Array {
  const [nx, ny, nz] = shape;
  const n = nx * ny * nz;
  if (data.length !== n) throw new HypersegError('INVALID_ARGUMENT', `boxMean: ${data.length} values for a ${shape.join('×')} volume`);
  if (!Number.isInteger(radius) || radius < 0) throw new HypersegError('INVALID_ARGUMENT', `boxMean: radius must be an integer ≥ 0, got ${radius}`);
  const a = Float64Array.from(data);
  const line = new Float64Array(Math.max(nx, ny, nz));
  for (const axis of [0, 1, 2] as const) {
    const len = shape[axis];
    const stride = axis === 0 ? 1 : axis === 1 ? nx : nx * ny;
    for (let l = 0; l < n / len; l++) {
      const base = axis === 0 ? l * nx : axis === 1 ? (l % nx) + Math.floor(l / nx) * nx * ny : l;
      for (let i = 0; i < len; i++) line[i] = a[base + i * stride];
      // window [i − radius, i + radius] ∩ [0, len − 1]: the sum slides, the count follows the clipping
      let s = 0;
      for (let k = 0; k <= Math.min(radius, len - 1); k++) s += line[k];
      for (let i = 0; i < len; i++) {
        const lo = Math.max(0, i - radius);
        const hi = Math.min(len - 1, i + radius);
        a[base + i * stride] = s / (hi - lo + 1);
        if (i + radius + 1 < len) s += line[i + radius + 1];
        if (i - radius >= 0) s -= line[i - radius];
      }
    }
  }
  return Float32Array.from(a);
}
