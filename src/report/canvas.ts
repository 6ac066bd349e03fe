/**
 * A small RGBA canvas for the PNG pictures hyperseg writes (slice montages with label overlays,
 * embedding scatter plots), encoded by pngjs. Tiles are drawn with nearest-neighbour upscaling.
 */

import { PNG } from 'pngjs';
import { writeFileAtomic } from '../data/atomic.js';
import { HypersegError } from '../errors.js';

export type Rgb = readonly [number, number, number];

/** Distinct colours for up to 12 labels (label 0 is usually background and left transparent). */
export const PALETTE: readonly Rgb[] = [
  [0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 190], [0, 128, 128],
];

export function labelColour(label: number): Rgb {
  return PALETTE[((label % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

export class Canvas {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;

  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    if (!(width >= 1 && height >= 1 && width * height <= 2 ** 26)) throw new HypersegError('INVALID_ARGUMENT', `canvas size ${width}×${height} is out of range`);
    this.width = Math.round(width);
    this.height = Math.round(height);
    this.data = new Uint8Array(this.width * this.height * 4);
    this.fill(0, 0, this.width, this.height, background);
  }

  fill(x0: number, y0: number, w: number, h: number, rgb: Rgb, alpha = 1): void {
    for (let y = Math.max(0, y0); y < Math.min(this.height, y0 + h); y++) {
      for (let x = Math.max(0, x0); x < Math.min(this.width, x0 + w); x++) this.blend(x, y, rgb, alpha);
    }
  }

  blend(x: number, y: number, rgb: Rgb, alpha: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = 4 * (y * this.width + x);
    for (let c = 0; c < 3; c++) this.data[o + c] = Math.round(this.data[o + c] * (1 - alpha) + rgb[c] * alpha);
    this.data[o + 3] = 255;
  }

  /**
   * Draws a w × h grey-level tile (row-major, row 0 at the top) at (x0, y0), scaled by `scale`,
   * mapping [lo, hi] to black..white.
   */
  grey(tile: ArrayLike<number>, w: number, h: number, x0: number, y0: number, scale: number, lo: number, hi: number): void {
    const span = hi > lo ? hi - lo : 1;
    for (let ty = 0; ty < h; ty++) {
      for (let tx = 0; tx < w; tx++) {
        const v = Math.max(0, Math.min(255, Math.round((255 * (tile[ty * w + tx] - lo)) / span)));
        this.fill(x0 + tx * scale, y0 + ty * scale, scale, scale, [v, v, v]);
      }
    }
  }

  /** Overlays a label tile (label 0 transparent unless `opaqueZero`) with the palette at `alpha`. */
  labels(tile: ArrayLike<number>, w: number, h: number, x0: number, y0: number, scale: number, alpha: number, opaqueZero = false): void {
    for (let ty = 0; ty < h; ty++) {
      for (let tx = 0; tx < w; tx++) {
        const l = tile[ty * w + tx];
        if (l === 0 && !opaqueZero) continue;
        this.fill(x0 + tx * scale, y0 + ty * scale, scale, scale, labelColour(l), alpha);
      }
    }
  }

  /** A filled disc (for scatter plots). */
  dot(cx: number, cy: number, r: number, rgb: Rgb, alpha = 1): void {
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) this.blend(x, y, rgb, alpha);
      }
    }
  }

  encode(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return PNG.sync.write(png);
  }

  async save(path: string): Promise<void> {
    await writeFileAtomic(path, this.encode());
  }
}

/** The z-slice `z` of a volume as a row-major tile with y going up (image row 0 = largest y). */
export function axialSlice(data: ArrayLike<number>, shape: readonly [number, number, number], z: number): Float32Array {
  const [nx, ny] = shape;
  const out = new Float32Array(nx * ny);
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[(ny - 1 - y) * nx + x] = data[x + nx * (y + ny * z)];
  return out;
}
