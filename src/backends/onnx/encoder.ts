/**
 * TypeScript-only inference with ONNX Runtime (onnxruntime-node ships its CPU library inside the npm
 * package): the encoder exported once from the torch worker (`exportOnnx`, the same weights) runs
 * in process. Per-patch encoding only; the parity suite compares it with torch.
 */

import { HypersegError } from '../../errors.js';
import type { Encoded } from '../types.js';

type Ort = typeof import('onnxruntime-node');

export class OnnxEncoder {
  private constructor(
    private readonly ort: Ort,
    private readonly session: import('onnxruntime-node').InferenceSession,
  ) {}

  static async load(path: string, threads = 2): Promise<OnnxEncoder> {
    let ort: Ort;
    try {
      ort = await import('onnxruntime-node');
    } catch (e) {
      throw new HypersegError('UNSUPPORTED', `onnxruntime-node is not available (${(e as Error).message})`);
    }
    try {
      return new OnnxEncoder(ort, await ort.InferenceSession.create(path, { intraOpNumThreads: threads }));
    } catch (e) {
      throw new HypersegError('FILE_FORMAT', `${path}: cannot load the ONNX encoder (${(e as Error).message})`);
    }
  }

  async encode(patches: Float32Array, count: number, m: number): Promise<Encoded> {
    const out = await this.session.run({ patches: new this.ort.Tensor('float32', patches.subarray(0, count * m ** 3), [count, 1, m, m, m]) });
    const mu = out.mu.data as Float32Array;
    return { mu, scale: out.scale.data as Float32Array, d: mu.length / count };
  }
}
