/**
 * Convolutions with gradients built from forward conv3d only.
 *
 * TensorFlow.js's wasm engine (4.22) computes Conv3DBackpropInputV2 wrongly (measured: input
 * gradients off by up to 50 on a 6³ test where the cpu engine agrees with PyTorch), and that kernel is
 * also the forward pass of conv3dTranspose. So the model uses these instead, correct on every engine:
 *   dx = conv3d(pad(interleave(dy, s), k − 1), flip(w) with in/out swapped)     (full correlation)
 *   dw = conv3d(x as [C_in, D, H, W, B], interleave(dy, s) as [D', H', W', B, C_out]) (batch as channels)
 * where interleave inserts s − 1 zeros between elements along the spatial axes (stride s).
 */

import * as tf from '@tensorflow/tfjs';

type T5 = tf.Tensor5D;

/** Inserts s − 1 zeros between the elements of the three spatial axes of an NDHWC tensor. */
export function interleave(x: T5, s: number): T5 {
  if (s === 1) return x;
  let y: tf.Tensor = x;
  for (const axis of [1, 2, 3]) {
    const shape = y.shape.slice();
    const n = shape[axis];
    const e = tf.expandDims(y, axis + 1); // [..., n, 1, ...]
    const padding = shape.map(() => [0, 0] as [number, number]);
    padding.splice(axis + 1, 0, [0, s - 1]);
    const padded = tf.pad(e, padding); // [..., n, s, ...]
    const merged = shape.slice();
    merged[axis] = n * s;
    const begin = shape.map(() => 0);
    const size = merged.slice();
    size[axis] = (n - 1) * s + 1;
    y = tf.slice(tf.reshape(padded, merged), begin, size);
  }
  return y as T5;
}

/** 'valid' conv3d (NDHWC, filter [k, k, k, in, out]) with gradients computed by forward conv3d only. */
export function conv3dValid(x: T5, w: T5, stride: number): T5 {
  const f = tf.customGrad(((xx: tf.Tensor, ww: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx, ww]);
    return {
      value: tf.conv3d(xx as T5, ww as T5, stride, 'valid'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [T5, T5];
        const [, D, H, W] = xs.shape;
        const [kd, kh, kw] = ws.shape;
        const dyI = interleave(dy as T5, stride);
        const [, Di, Hi, Wi] = dyI.shape;
        // full correlation with the flipped filter; extra end padding covers sizes not divisible by the stride
        const pd = tf.pad(dyI, [[0, 0], [kd - 1, D - Di - kd + 1 + kd - 1], [kh - 1, H - Hi - kh + 1 + kh - 1], [kw - 1, W - Wi - kw + 1 + kw - 1], [0, 0]]);
        const wf = tf.transpose(tf.reverse(ws, [0, 1, 2]), [0, 1, 2, 4, 3]) as T5;
        const dx = tf.conv3d(pd as T5, wf, 1, 'valid');
        const xt = tf.transpose(xs, [4, 1, 2, 3, 0]) as T5; // [Cin, D, H, W, B]
        const dyt = tf.transpose(dyI, [1, 2, 3, 0, 4]) as T5; // [D', H', W', B, Cout]
        const dwFull = tf.conv3d(xt, dyt, 1, 'valid'); // [Cin, kd + r, kh + r, kw + r, Cout]
        const dw = tf.transpose(tf.slice(dwFull, [0, 0, 0, 0, 0], [-1, kd, kh, kw, -1]), [1, 2, 3, 0, 4]);
        return [dx, dw];
      },
    };
  }) as never);
  return f(x, w) as T5;
}

/**
 * The transposed convolution of PyTorch's ConvTranspose3d (weight as a conv3d filter of the flipped,
 * in/out-swapped kernel, `filter` [k, k, k, in, out]), 'full' output ((n − 1)·s + k per axis), built
 * from conv3dValid: interleave the input with zeros, pad by k − 1, correlate.
 */
export function conv3dTransposeFull(x: T5, flippedFilter: T5, stride: number): T5 {
  const [kd, kh, kw] = flippedFilter.shape;
  const xi = interleave(x, stride);
  const p = tf.pad(xi, [[0, 0], [kd - 1, kd - 1], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]) as T5;
  return conv3dValid(p, flippedFilter, 1);
}
