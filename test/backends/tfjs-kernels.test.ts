import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { conv3dTransposeFull, conv3dValid, interleave } from '../../src/backends/tfjs/kernels.js';

const data = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** y, dx, dw of f(x, w) = Σ conv(x, w)·sin(conv(x, w)) on an engine. */
async function run(engine: string, conv: (x: tf.Tensor5D, w: tf.Tensor5D) => tf.Tensor, shape: [number, number, number, number, number]) {
  await tf.setBackend(engine);
  await tf.ready();
  const x = tf.tensor5d(data(shape.reduce((a, b) => a * b, 1), Math.sin), shape);
  const w = tf.tensor5d(data(27 * shape[4] * 4, Math.cos), [3, 3, 3, shape[4], 4]);
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor5D, b as tf.Tensor5D), tf.sin(conv(a as tf.Tensor5D, b as tf.Tensor5D))));
  const [gx, gw] = tf.grads(f)([x, w]);
  return [conv(x, w).dataSync(), gx.dataSync(), gw.dataSync()];
}

describe('conv3d built from forward convolutions only (correct gradients on every engine)', () => {
  for (const stride of [1, 2]) {
    it(`stride ${stride}: value and both gradients equal the cpu engine's built-in conv3d, on cpu and wasm`, async () => {
      const shape: [number, number, number, number, number] = [2, 7, 6, 8, 3];
      const ref = await run('cpu', (x, w) => tf.conv3d(x, w, stride, 'valid'), shape);
      for (const engine of ['cpu', 'wasm']) {
        const got = await run(engine, (x, w) => conv3dValid(x, w, stride), shape);
        for (let k = 0; k < 3; k++) {
          const scale = Math.max(...Array.from(ref[k], Math.abs));
          expect(maxDiff(got[k], ref[k]) / scale, `${engine} output ${k}`).toBeLessThan(1e-5);
        }
      }
    }, 60_000);
  }

  it('the transposed convolution equals tf.conv3dTranspose on the cpu engine', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor5d(data(108, Math.sin), [1, 3, 3, 3, 4]);
    const wT = tf.tensor5d(data(216, Math.cos), [3, 3, 3, 2, 4]); // [k, k, k, out, in]
    const ref = tf.conv3dTranspose(x, wT, [1, 7, 7, 7, 2], 2, 'valid');
    const flipped = tf.transpose(tf.reverse(wT, [0, 1, 2]), [0, 1, 2, 4, 3]) as tf.Tensor5D;
    expect(maxDiff(conv3dTransposeFull(x, flipped, 2).dataSync(), ref.dataSync())).toBeLessThan(1e-5);
  });

  it('interleave inserts stride − 1 zeros between elements', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor5d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2, 1]);
    const y = interleave(x, 2);
    expect(y.shape).toEqual([1, 3, 3, 3, 1]);
    expect(Array.from(y.dataSync()).filter((v) => v !== 0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(y.dataSync()[0]).toBe(1);
    expect(y.dataSync()[2]).toBe(2);
  });
});
