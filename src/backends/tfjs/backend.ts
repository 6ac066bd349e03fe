/**
 * The TensorFlow.js backend: the same model in process (model.ts), on the engine selectEngine picks.
 * Sampling noise comes from a seeded generator, so runs are reproducible for a seed.
 */

import * as tf from '@tensorflow/tfjs';
import { HypersegError } from '../../errors.js';
import type { Tensor } from '../../protocol/codec.js';
import { Rng } from '../../random.js';
import type { TripletBatch } from '../../sampling/triplets.js';
import { modelWeights, readSafetensors, writeSafetensors, writeWeightsFile } from '../../weights/safetensors.js';
import { resolveModelConfig } from '../config.js';
import type { BackendInfo, ComputeBackend, Encoded, ModelConfig, TrainStepResult } from '../types.js';
import { type Engine, selectEngine } from './engine.js';
import { TfjsVAE } from './model.js';

export class TfjsBackend implements ComputeBackend {
  readonly name = 'tfjs';
  readonly engine: Engine;
  private model: TfjsVAE | null = null;
  private rng = new Rng(0);
  private step = 0;

  private constructor(engine: Engine) {
    this.engine = engine;
  }

  static async start(options: { engine?: Engine } = {}): Promise<TfjsBackend> {
    return new TfjsBackend(await selectEngine(options.engine));
  }

  info(): BackendInfo {
    return { backend: 'tfjs', engine: this.engine, tfjs: tf.version.tfjs, tfBackend: tf.getBackend() };
  }

  private need(): TfjsVAE {
    if (!this.model) throw new HypersegError('INVALID_ARGUMENT', 'no model: call init first');
    return this.model;
  }

  /** The model (for the parity suite). */
  get vae(): TfjsVAE {
    return this.need();
  }

  async init(config: ModelConfig, seed: number) {
    this.model?.dispose();
    this.model = new TfjsVAE(config, seed);
    this.rng = new Rng(seed, 1);
    this.step = 0;
    let parameters = 0;
    for (const v of this.model.params.values()) parameters += v.size;
    return { config: resolveModelConfig(config) as Required<ModelConfig>, parameters };
  }

  async trainStep(batch: TripletBatch): Promise<TrainStepResult> {
    const model = this.need();
    const t0 = performance.now();
    const shape = [batch.size, 1, batch.m, batch.m, batch.m];
    const { samples, latent_dim } = model.cfg;
    const eps = Float32Array.from({ length: samples * 3 * batch.size * latent_dim }, () => this.rng.normal());
    const terms = tf.tidy(() => {
      const { grads, terms } = model.gradients(tf.tensor(batch.anchor, shape), tf.tensor(batch.positive, shape), tf.tensor(batch.negative, shape), tf.tensor(eps, [samples, 3 * batch.size, latent_dim]), this.step);
      model.adamStep(grads, this.step);
      return terms;
    });
    this.step += 1;
    return { ...(terms as { loss: number; elbo: number; recon: number; kl: number; triplet: number }), step: this.step, seconds: (performance.now() - t0) / 1000 };
  }

  async encode(patches: Float32Array, count: number, m: number): Promise<Encoded> {
    const model = this.need();
    return tf.tidy(() => {
      const { mu, scale } = model.encode(tf.tensor(patches.subarray(0, count * m ** 3), [count, 1, m, m, m]));
      return { mu: mu.dataSync() as Float32Array, scale: scale.dataSync() as Float32Array, d: model.cfg.latent_dim };
    });
  }

  async encodeVolume(volume: Float32Array, shape: [number, number, number], stride: number, origin: number, outShape: [number, number, number]): Promise<Float32Array> {
    const model = this.need();
    return tf.tidy(() => model.encodeDense(tf.tensor(volume, shape), stride, origin, outShape).dataSync() as Float32Array);
  }

  async getWeights(): Promise<Map<string, Tensor>> {
    return this.need().getWeights();
  }

  async setWeights(weights: Map<string, Tensor>): Promise<void> {
    this.need().setWeights(weights);
  }

  /**
   * Saves a checkpoint: the weights under `model.` (the layout of the torch worker's checkpoints, so
   * either backend and plain PyTorch read them), Adam's moments under `adam.`, and the step count and
   * noise generator state in the metadata; resuming from it gives the same next step.
   */
  async save(path: string): Promise<void> {
    const model = this.need();
    const tensors = new Map<string, Tensor>();
    for (const [name, t] of model.getWeights()) tensors.set(`model.${name}`, { ...t, name: `model.${name}` });
    const opt = model.optimizerState();
    for (const [name, t] of opt.tensors) tensors.set(name, t);
    await writeSafetensors(path, tensors, {
      format: 'hyperseg-checkpoint', backend: 'tfjs', config: JSON.stringify(model.cfg), step: String(this.step), adam_t: String(opt.t), rng: JSON.stringify(this.rng.state()),
    });
  }

  async saveWeights(path: string): Promise<void> {
    const model = this.need();
    await writeWeightsFile(path, model.getWeights(), model.cfg);
  }

  /** Restores a checkpoint written by `save` (weights, Adam, step, noise state); a weights-only file restores the weights. */
  async load(path: string): Promise<void> {
    const { tensors, metadata } = await readSafetensors(path);
    const model = this.need();
    model.setWeights(modelWeights(tensors));
    if (metadata.format === 'hyperseg-checkpoint' && metadata.backend === 'tfjs') {
      model.setOptimizerState(tensors, Number(metadata.adam_t ?? 0));
      this.step = Number(metadata.step ?? 0);
      if (metadata.rng) this.rng = Rng.fromState(JSON.parse(metadata.rng) as number[]);
    }
  }

  async loadWeights(path: string): Promise<void> {
    const { tensors } = await readSafetensors(path);
    this.need().setWeights(modelWeights(tensors));
  }

  async close(): Promise<void> {
    this.model?.dispose();
    this.model = null;
  }
}
