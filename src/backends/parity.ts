/**
 * The parity suite: the same weights in the torch and TensorFlow.js backends, the same inputs and
 * the same noise, and a comparison of everything the model computes — encoder mu and scale, the
 * decoder's first (gyroplane) layer, the reconstruction, each loss term, the gradient of every
 * parameter, every parameter after one Adam step, and the dense path's per-voxel mu — plus the
 * agreement of k-means labels on the two backends' embeddings of a test volume; and a third engine,
 * ONNX Runtime, running the encoder exported from the same weights.
 *
 * Differences are reported as max |a − b| and that divided by max |reference| (a per-tensor relative
 * error; element-wise ratios are meaningless for entries near zero). Tolerances, for float32 on
 * both sides with different summation orders:
 *  - forward outputs and loss terms: 1e-4 relative (a few hundred accumulations of ~1e-7 rounding);
 *  - gradients: 3e-3 relative (backpropagation doubles the depth and sums over the batch, and with
 *    β = 1e3 the triplet term's gradients, three orders of magnitude above the others, mix into the
 *    same sums: float32 rounding of those terms reaches ~1e-3 of the smaller gradient tensors, as
 *    observed for head_mu.bias at 1.1e-3);
 *  - parameters after one Adam step: 0.05·lr absolute (lr of the compared step under lr_warmup), over the entries whose reference gradient
 *    exceeds the gradient tolerance (3e-3 of the tensor's largest gradient). The first Adam step is
 *    lr·g/(|g| + ε): where |g| is within the gradient tolerance of zero, even the sign of g is not
 *    pinned down by the gradient check, and the step may differ by up to 2·lr there; those
 *    entries are counted in the row (`excluded`) rather than compared;
 *  - k-means labels of the dense embeddings: at least 99.9 % of voxels agree.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { kmeans } from '../cluster/kmeans.js';
import { synthVolume } from '../data/synth.js';
import { matchClusters } from '../eval/hungarian.js';
import type { Tensor } from '../protocol/codec.js';
import { Rng } from '../random.js';
import { denseExact } from '../pipeline/embed.js';
import { denseWindowOrigin, resampleVolume } from '../sampling/resample.js';
import { TripletSampler, allocateTripletBatch } from '../sampling/triplets.js';
import { modelWeights, readSafetensors } from '../weights/safetensors.js';
import { embeddingGeometry, lrAt } from './config.js';
import { OnnxEncoder } from './onnx/encoder.js';
import { TfjsBackend } from './tfjs/backend.js';
import type { Engine } from './tfjs/engine.js';
import { TorchBackend } from './torch/backend.js';
import type { ModelConfig } from './types.js';
import { within } from '../errors.js';

const GRAD_TOL = 3e-3;

export interface ParityRow {
  tensor: string;
  maxAbs: number;
  maxRel: number;
  /** Entries left out of the comparison (Adam steps on near-zero gradients). */
  excluded?: number;
  /** 'rel' compares maxRel, 'abs' compares maxAbs, 'agree' compares the agreement fraction. */
  kind: 'rel' | 'abs' | 'agree';
  tolerance: number;
  ok: boolean;
}

export interface ParityResult {
  ok: boolean;
  config: ModelConfig;
  engine: Engine;
  torch: string;
  rows: ParityRow[];
}

export interface ParityOptions {
  config?: ModelConfig;
  seed?: number;
  /** A safetensors file of weights (PyTorch names); default: the torch backend's seeded initial weights. */
  weights?: string;
  engine?: Engine;
  batch?: number;
  torch?: TorchBackend;
  /** Also compare ONNX Runtime's encoder (exported from the same weights); default true. */
  onnx?: boolean;
  /** Steps taken before the compared one, which set the KL weight and learning rate under kl_warmup and lr_warmup (default 0). */
  step?: number;
}

function compare(name: string, a: ArrayLike<number>, ref: ArrayLike<number>, kind: 'rel' | 'abs', tolerance: number, include?: (i: number) => boolean): ParityRow {
  if (a.length !== ref.length) return { tensor: name, maxAbs: Infinity, maxRel: Infinity, kind, tolerance, ok: false };
  let maxAbs = 0;
  let scale = 0;
  let excluded = 0;
  for (let i = 0; i < a.length; i++) {
    if (include && !include(i)) {
      excluded++;
      continue;
    }
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  const maxRel = scale > 0 ? maxAbs / scale : maxAbs;
  return { tensor: name, maxAbs, maxRel, kind, tolerance, ok: (kind === 'rel' ? maxRel : maxAbs) <= tolerance, ...(include ? { excluded } : {}) };
}

export async function runParity(options: ParityOptions = {}): Promise<ParityResult> {
  const seed = options.seed ?? 0;
  const batch = options.batch ?? 4;
  const torch = options.torch ?? (await TorchBackend.start({ threads: 1 }));
  const tfb = await TfjsBackend.start({ engine: options.engine });
  try {
    let config = options.config ?? { preset: 'small' };
    let weights: Map<string, Tensor>;
    if (options.weights) {
      const file = await readSafetensors(options.weights);
      // the configuration: --config, else the file's metadata (tfjs saves), else the torch checkpoint's .json sidecar
      if (!options.config && file.metadata.config) config = JSON.parse(file.metadata.config) as ModelConfig;
      else if (!options.config && existsSync(`${options.weights}.json`)) config = (JSON.parse(readFileSync(`${options.weights}.json`, 'utf8')) as { config: ModelConfig }).config;
      weights = modelWeights(file.tensors);
      const cfgOnly = Object.fromEntries(Object.entries(config).filter(([k]) => k !== 'min_scale')) as ModelConfig;
      config = cfgOnly;
      await torch.init(config, seed);
      try {
        await torch.setWeights(weights);
      } catch (e) {
        throw within(`${options.weights} does not fit the model ${JSON.stringify(config)}`, e);
      }
    } else {
      await torch.init(config, seed);
      weights = await torch.getWeights();
    }
    await tfb.init(config, seed);
    await tfb.setWeights(weights);
    const model = tfb.vae;
    const { m, latent_dim: d, samples } = model.cfg;

    // fixed inputs and fixed noise
    const vol = synthVolume(0, seed, 32);
    const grid = { data: vol.image, shape: vol.shape };
    const sampler = new TripletSampler([grid], { m }, new Rng(seed, 5));
    const tb = allocateTripletBatch(batch, m, true);
    sampler.fill(tb);
    const epsRng = new Rng(seed, 6);
    const eps = Float32Array.from({ length: samples * 3 * batch * d }, () => epsRng.normal());
    const step = options.step ?? 0;
    const ref = await torch.parity(tb, eps, [samples, 3 * batch, d], step);

    const rows: ParityRow[] = [];
    const shape = [batch, 1, m, m, m];
    const inputs = () => [tf.tensor(tb.anchor, shape), tf.tensor(tb.positive, shape), tf.tensor(tb.negative, shape), tf.tensor(eps, [samples, 3 * batch, d])] as const;
    tf.tidy(() => {
      const [a, p, n, e] = inputs();
      const out = model.loss(a, p, n, e, step);
      const get = (k: string) => ref.tensors.get(k)?.data ?? new Float32Array(0);
      rows.push(compare('encoder mu', out.mu.dataSync(), get('mu'), 'rel', 1e-4));
      rows.push(compare('encoder scale', out.scale.dataSync(), get('scale'), 'rel', 1e-4));
      if (model.cfg.gyroconv) rows.push(compare('gyroplane layer (decoder input)', model.decoderInput(tf.reshape(out.z, [-1, d])).dataSync(), get('dec_in'), 'rel', 1e-4));
      rows.push(compare('decoder output', out.xhat.dataSync(), get('xhat'), 'rel', 1e-4));
      for (const k of ['recon', 'kl', 'elbo', 'triplet', 'loss'] as const) {
        const r = compare(`loss: ${k}`, out[k].dataSync(), [ref.result[k] as number], 'rel', 1e-4);
        rows.push(r);
      }
    });
    const gradRows: ParityRow[] = [];
    tf.tidy(() => {
      const [a, p, n, e] = inputs();
      const { grads } = model.gradients(a, p, n, e, step);
      for (const [name, g] of grads) gradRows.push(compare(`grad ${name}`, g.dataSync(), ref.tensors.get(`grad.${name}`)?.data ?? new Float32Array(0), 'rel', GRAD_TOL));
      model.adamStep(grads, step);
    });
    rows.push(...gradRows);
    for (const [name, v] of model.params) {
      const g = ref.tensors.get(`grad.${name}`)?.data ?? new Float32Array(0);
      let gmax = 0;
      for (let i = 0; i < g.length; i++) gmax = Math.max(gmax, Math.abs(g[i]));
      rows.push(compare(`adam step ${name}`, v.dataSync(), ref.tensors.get(`step.${name}`)?.data ?? new Float32Array(0), 'abs', 0.05 * lrAt(model.cfg, step), (i) => Math.abs(g[i]) > GRAD_TOL * gmax));
    }
    await tfb.setWeights(weights); // back to the shared weights for the dense comparison

    if (denseExact(model.cfg)) {
      const sub = { data: vol.image.subarray(32 * 32 * 12, 32 * 32 * 20), shape: [32, 32, 8] as [number, number, number] };
      const lo = [0, 0, 0].map(() => denseWindowOrigin(0, 5, m)) as [number, number, number];
      const hi = sub.shape.map((s) => denseWindowOrigin(s - 1, 5, m) + m) as [number, number, number];
      const dense = resampleVolume(sub, 5, m, lo, hi);
      const dshape: [number, number, number] = [dense.shape[2], dense.shape[1], dense.shape[0]];
      const out: [number, number, number] = [sub.shape[2], sub.shape[1], sub.shape[0]];
      const [muT, muJ] = await Promise.all([torch.encodeVolume(dense.data, dshape, m / 5, 0, out), tfb.encodeVolume(dense.data, dshape, m / 5, 0, out)]);
      rows.push(compare('dense path mu', muJ, muT, 'rel', 1e-4));
      const geometry = embeddingGeometry(model.cfg);
      const la = kmeans(Float64Array.from(muT), d, { k: 3, geometry, seed: 0, nInit: 2 }).labels;
      const lb = kmeans(Float64Array.from(muJ), d, { k: 3, geometry, seed: 0, nInit: 2 }).labels;
      const match = matchClusters(lb, la);
      const agree = match.overlap / la.length;
      rows.push({ tensor: 'k-means labels (k = 3) on dense mu', maxAbs: 1 - agree, maxRel: 1 - agree, kind: 'agree', tolerance: 0.999, ok: agree >= 0.999 });
    }
    if (options.onnx !== false) {
      // the third engine: ONNX Runtime running the encoder exported from the same weights
      const dir = mkdtempSync(join(tmpdir(), 'hyperseg-onnx-'));
      try {
        await torch.setWeights(weights);
        await torch.exportOnnx(join(dir, 'encoder.onnx'));
        const onnx = await OnnxEncoder.load(join(dir, 'encoder.onnx'), 1);
        const [a, b] = await Promise.all([onnx.encode(tb.anchor, batch, m), torch.encode(tb.anchor, batch, m)]);
        rows.push(compare('onnxruntime encoder mu', a.mu, b.mu, 'rel', 1e-4));
        rows.push(compare('onnxruntime encoder scale', a.scale, b.scale, 'rel', 1e-4));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return { ok: rows.every((r) => r.ok), config, engine: tfb.engine, torch: String(torch.info().torch), rows };
  } finally {
    await tfb.close();
    if (!options.torch) await torch.close();
  }
}
