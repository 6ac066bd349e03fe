/**
 * The hyperbolic VAE in TensorFlow.js: the model of python-env/hyperseg_worker/model.py, with the
 * same parameter names and PyTorch's layouts (so one safetensors file serves both backends).
 *
 * Parameters are tf.Variables in PyTorch layout; the conversions to TensorFlow.js layouts happen at
 * use, in one place (the `layout` helpers below): Conv3d [out, in, k, k, k] → filter [k, k, k, in, out];
 * ConvTranspose3d [in, out, k, k, k] → the flipped Conv3d filter [k, k, k, in, out]
 * (stride > 1: applied to the zero-interleaved input); activations NCDHW (PyTorch) ↔ NDHWC
 * (TensorFlow.js); linear heads keep
 * [out, in]. Gradients therefore come back in PyTorch layout too, which the parity suite compares.
 */

import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../random.js';
import type { Tensor as WireTensor } from '../../protocol/codec.js';
import { type ResolvedConfig, featureSizes, klWeight, lrAt, resolveModelConfig } from '../config.js';
import type { ModelConfig } from '../types.js';
import * as G from './geometry.js';
import { conv3dTransposeFull, conv3dValid } from './kernels.js';

type T = tf.Tensor;
const LOG_2PI = Math.log(2 * Math.PI);

/** log(sinh t / t), t ≥ 0: series t²/6 near 0, t − log 2 − log t for large t (step masks, as in geometry.ts). */
function logSinhOverX(t: T): T {
  const notSmall = G.above(tf.sub(t, 1e-3));
  const big = G.above(tf.sub(t, 20));
  const mid = tf.sub(notSmall, big); // 1 on [1e-3, 20]
  const safeMid = tf.add(tf.mul(t, mid), tf.sub(1, mid)); // t there, 1 elsewhere
  const safeBig = tf.add(tf.mul(t, big), tf.sub(1, big));
  return tf.addN([
    tf.mul(tf.sub(1, notSmall), tf.div(tf.square(t), 6)),
    tf.mul(mid, tf.log(tf.div(tf.sinh(safeMid), safeMid))),
    tf.mul(big, tf.sub(tf.sub(safeBig, Math.log(2)), tf.log(safeBig))),
  ]);
}

/** arccosh(cosh a cosh b + sinh a sinh b t) without cancellation or overflow (distributions.py _arccosh_law_of_cosines). */
function arccoshLawOfCosines(a: T, b: T, t: T): T {
  const s = tf.div(tf.add(a, b), 2);
  const e = tf.div(tf.sub(a, b), 2);
  const near = tf.sub(1, G.above(tf.sub(s, 15))); // 1 where s ≤ 15
  const far = tf.sub(1, near);
  const y = tf.add(tf.mul(tf.add(1, t), tf.square(tf.sinh(tf.mul(s, near)))), tf.mul(tf.sub(1, t), tf.square(tf.sinh(tf.mul(e, near)))));
  const small = tf.log1p(tf.add(y, tf.sqrt(tf.maximum(tf.mul(y, tf.add(y, 2)), 1e-30))));
  const logcosh = (x: T) => {
    const ax = tf.abs(x);
    return tf.sub(tf.add(ax, tf.log1p(tf.exp(tf.mul(ax, -2)))), Math.log(2));
  };
  const p = tf.add(logcosh(tf.add(tf.mul(tf.add(a, b), far), tf.mul(near, 40))), tf.log(tf.maximum(tf.add(1, t), 1e-30)));
  const q = tf.add(logcosh(tf.mul(tf.sub(a, b), far)), tf.log(tf.maximum(tf.sub(1, t), 1e-30)));
  const hi = tf.maximum(p, q);
  const large = tf.add(hi, tf.log1p(tf.exp(tf.neg(tf.abs(tf.sub(p, q))))));
  return tf.add(tf.mul(near, small), tf.mul(far, large));
}

let instances = 0;

// ----- layout conversions (the one place) -----
const layout = {
  /** NCDHW → NDHWC. */
  toChannelsLast: (x: T) => tf.transpose(x, [0, 2, 3, 4, 1]),
  /** NDHWC → NCDHW. */
  toChannelsFirst: (x: T) => tf.transpose(x, [0, 4, 1, 2, 3]),
  /** Conv3d weight [out, in, k, k, k] → tfjs conv3d filter [k, k, k, in, out]. */
  convFilter: (w: T) => tf.transpose(w, [2, 3, 4, 1, 0]),
  /** ConvTranspose3d weight [in, out, k, k, k] → the equivalent stride-1 Conv3d filter [k, k, k, in, out]. */
  deconvAsConvFilter: (w: T) => tf.transpose(tf.reverse(w, [2, 3, 4]), [2, 3, 4, 0, 1]),
};

export interface LossTerms {
  loss: T;
  elbo: T;
  recon: T;
  kl: T;
  triplet: T;
}

export class TfjsVAE {
  readonly cfg: ResolvedConfig;
  readonly s: number;
  readonly params = new Map<string, tf.Variable>();
  private readonly prefix: string;
  private adam: { m: Map<string, T>; v: Map<string, T>; t: number } = { m: new Map(), v: new Map(), t: 0 };

  constructor(config: ModelConfig, seed: number) {
    this.cfg = resolveModelConfig(config);
    this.prefix = `hyperseg${instances++}/`;
    const c = this.cfg;
    this.s = featureSizes(c)[c.strides.length];
    const rng = new Rng(seed, 0x7f);
    const uniform = (shape: number[], bound: number) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-bound, bound));
    const add = (name: string, shape: number[], data: Float32Array) => this.params.set(name, tf.variable(tf.tensor(data, shape), true, this.prefix + name));
    const k3 = c.kernel ** 3;
    const ch = [1, ...c.enc_channels];
    c.strides.forEach((_, i) => {
      const b = 1 / Math.sqrt(ch[i] * k3); // PyTorch's default init bound 1/√fan_in
      add(`encoder.${i}.weight`, [ch[i + 1], ch[i], c.kernel, c.kernel, c.kernel], uniform([ch[i + 1], ch[i], c.kernel, c.kernel, c.kernel], b));
      add(`encoder.${i}.bias`, [ch[i + 1]], uniform([ch[i + 1]], b));
    });
    const flat = c.enc_channels[c.enc_channels.length - 1] * this.s ** 3;
    for (const head of ['head_mu', 'head_scale']) {
      add(`${head}.weight`, [c.latent_dim, flat], uniform([c.latent_dim, flat], 1 / Math.sqrt(flat)));
      add(`${head}.bias`, [c.latent_dim], uniform([c.latent_dim], 1 / Math.sqrt(flat)));
    }
    if (c.gyroconv) {
      add('dec_in.p_raw', [flat, 1, 1, c.latent_dim], Float32Array.from({ length: flat * c.latent_dim }, () => 1e-2 * rng.normal()));
      add('dec_in.a_raw', [flat, 1, 1, c.latent_dim], Float32Array.from({ length: flat * c.latent_dim }, () => rng.normal() / Math.sqrt(c.latent_dim)));
      add('dec_in.bias', [flat], new Float32Array(flat));
    } else {
      add('dec_in.weight', [flat, c.latent_dim], uniform([flat, c.latent_dim], 1 / Math.sqrt(c.latent_dim)));
      add('dec_in.bias', [flat], uniform([flat], 1 / Math.sqrt(c.latent_dim)));
    }
    for (let j = 0, i = c.strides.length - 1; i >= 0; i--, j++) {
      const b = 1 / Math.sqrt(ch[i] * k3); // ConvTranspose3d: fan_in from weight.size(1) = out channels
      add(`decoder.${j}.inner.weight`, [ch[i + 1], ch[i], c.kernel, c.kernel, c.kernel], uniform([ch[i + 1], ch[i], c.kernel, c.kernel, c.kernel], b));
      add(`decoder.${j}.inner.bias`, [ch[i]], uniform([ch[i]], b));
    }
  }

  private p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  /** Encoder features, NDHWC, from NDHWC input. */
  features(x: T): T {
    const c = this.cfg;
    let h = x;
    c.strides.forEach((stride, i) => {
      if (c.padding > 0) h = tf.pad(h, [[0, 0], [c.padding, c.padding], [c.padding, c.padding], [c.padding, c.padding], [0, 0]]);
      h = this.act(tf.add(conv3dValid(h as tf.Tensor5D, layout.convFilter(this.p(`encoder.${i}.weight`)) as tf.Tensor5D, stride), this.p(`encoder.${i}.bias`)));
    });
    return h;
  }

  /** patches [B, 1, m, m, m] (PyTorch layout) → mu, scale [B, d]. */
  encode(x: T): { mu: T; scale: T } {
    const h = tf.reshape(layout.toChannelsFirst(this.features(layout.toChannelsLast(x))), [x.shape[0], -1]);
    const t = tf.add(tf.matMul(h, this.p('head_mu.weight'), false, true), this.p('head_mu.bias'));
    const scale = tf.add(tf.softplus(tf.add(tf.matMul(h, this.p('head_scale.weight'), false, true), this.p('head_scale.bias'))), this.cfg.min_scale);
    return { mu: this.cfg.hyperbolic ? G.expmap0(t, this.cfg.curvature) : t, scale };
  }

  /** The decoder's first layer: z [N, d] → features [N, C·s³] (the gyroplane convolution when enabled). */
  decoderInput(z: T): T {
    const c = this.cfg;
    if (c.gyroconv) {
      const pRaw = tf.reshape(this.p('dec_in.p_raw'), [-1, c.latent_dim]);
      const p = G.expmap0(pRaw, c.curvature);
      const a = G.transport0(p, tf.reshape(this.p('dec_in.a_raw'), [-1, c.latent_dim]), c.curvature);
      const f = G.gyroplane(tf.expandDims(z, 1), tf.expandDims(a, 0), tf.expandDims(p, 0), c.curvature);
      return tf.add(f, this.p('dec_in.bias'));
    }
    const zin = c.hyperbolic ? G.logmap0(z, c.curvature) : z;
    return tf.add(tf.matMul(zin, this.p('dec_in.weight'), false, true), this.p('dec_in.bias'));
  }

  /** z [N, d] → reconstructions [N, 1, m, m, m] (PyTorch layout). */
  decode(z: T): T {
    const c = this.cfg;
    const n = z.shape[0];
    const sizes = featureSizes(c);
    let h = layout.toChannelsLast(this.act(tf.reshape(this.decoderInput(z), [n, c.enc_channels[c.enc_channels.length - 1], this.s, this.s, this.s])));
    const layers = c.strides.length;
    for (let j = 0, i = layers - 1; i >= 0; i--, j++) {
      const w = this.p(`decoder.${j}.inner.weight`);
      const stride = c.strides[i];
      const k = c.kernel;
      if (stride === 1) {
        const q = k - 1 - c.padding;
        if (q > 0) h = tf.pad(h, [[0, 0], [q, q], [q, q], [q, q], [0, 0]]);
        h = conv3dValid(h as tf.Tensor5D, layout.deconvAsConvFilter(w) as tf.Tensor5D, 1);
      } else {
        const out = conv3dTransposeFull(h as tf.Tensor5D, layout.deconvAsConvFilter(w) as tf.Tensor5D, stride);
        const target = sizes[i];
        h = tf.slice(out, [0, c.padding, c.padding, c.padding, 0], [n, target, target, target, w.shape[1] as number]);
      }
      h = tf.add(h, this.p(`decoder.${j}.inner.bias`));
      if (j < layers - 1) h = this.act(h);
    }
    return layout.toChannelsFirst(h);
  }

  /** log N(z; loc, diag(scale²)) summed over the last axis (the Euclidean models' posterior and prior; hyperbolic ones use wrappedKl). */
  private normalLogProb(loc: T, scale: T, z: T): T {
    return tf.sum(tf.sub(tf.sub(tf.mul(-0.5, tf.square(tf.div(tf.sub(z, loc), scale))), tf.log(scale)), 0.5 * LOG_2PI), -1);
  }

  /**
   * log q(z) − log p(z) for the sample drawn with `eps` (q = WN(mu, scale²), p = WN(0, I)), from the
   * tangent sample u = scale·eps rather than from z: d(mu, z) = ‖u‖ and d(0, z) by the hyperbolic law
   * of cosines — exact where float32 clamps z at the ball's edge (distributions.py wrapped_kl_sample).
   */
  private wrappedKl(mu: T, scale: T, eps: T): T {
    const c = this.cfg;
    const sc = Math.sqrt(c.curvature);
    const d = c.latent_dim;
    const u = tf.mul(scale, eps);
    const b = tf.sqrt(tf.maximum(tf.sum(tf.square(u), -1), 1e-30)); // d(mu, z)
    const logQ = tf.sub(tf.sum(tf.sub(tf.sub(tf.mul(-0.5, tf.square(eps)), tf.log(scale)), 0.5 * LOG_2PI), -1), tf.mul(logSinhOverX(tf.mul(b, sc)), d - 1));
    const nLoc = tf.sqrt(tf.maximum(tf.sum(tf.square(mu), -1), 1e-30));
    const a = tf.mul(tf.atanh(tf.minimum(tf.mul(nLoc, sc), 1 - 1e-7)), 2 / sc); // d(0, mu)
    const t = tf.clipByValue(tf.div(tf.sum(tf.mul(u, mu), -1), tf.mul(b, nLoc)), -1, 1);
    const r0 = tf.div(arccoshLawOfCosines(tf.mul(tf.broadcastTo(a, b.shape), sc), tf.mul(b, sc), t), sc); // d(0, z)
    const logP = tf.sub(tf.sub(tf.mul(-0.5, tf.square(r0)), 0.5 * d * LOG_2PI), tf.mul(logSinhOverX(tf.mul(r0, sc)), d - 1));
    return tf.sub(logQ, logP);
  }

  /** Samples z = exp_mu(P_{0→mu}(scale·eps/2)) (hyperbolic) or mu + scale·eps, eps [K, N, d]. */
  sample(mu: T, scale: T, eps: T): T {
    const c = this.cfg;
    const v = tf.mul(tf.mul(scale, eps), c.hyperbolic ? 0.5 : 1);
    if (!c.hyperbolic) return tf.add(mu, v);
    const muB = tf.broadcastTo(mu, eps.shape);
    return G.expmap(muB, G.transport0(muB, v, c.curvature), c.curvature);
  }

  /** The hidden layers' activation: ReLU, or a leaky ReLU with leaky_slope > 0. */
  act(x: T): T {
    return this.cfg.leaky_slope ? tf.leakyRelu(x, this.cfg.leaky_slope) : tf.relu(x);
  }

  distance(a: T, b: T): T {
    return this.cfg.hyperbolic ? tf.squeeze(G.dist(a, b, this.cfg.curvature), [-1]) : tf.norm(tf.sub(a, b), 'euclidean', -1);
  }

  /**
   * The loss of model.py for a triplet batch ([B, 1, m, m, m] each) and noise eps [K, 3B, d] at the
   * step that follows `step` steps (which sets the KL weight under kl_warmup).
   */
  loss(anchor: T, positive: T, negative: T, eps: T, step = 0): LossTerms & { mu: T; scale: T; xhat: T; z: T } {
    const c = this.cfg;
    const x = tf.concat([anchor, positive, negative], 0);
    const b = anchor.shape[0];
    const { mu, scale } = this.encode(x);
    // an autoencoder (baseline) decodes the code itself: no noise, no KL term
    const z = c.autoencoder ? tf.expandDims(mu, 0) : this.sample(mu, scale, eps);
    const K = z.shape[0];
    const xhat = tf.reshape(this.decode(tf.reshape(z, [-1, c.latent_dim])), [K, ...x.shape]);
    const recon = tf.mul(0.5, tf.sum(tf.reshape(tf.square(tf.sub(xhat, tf.expandDims(x, 0))), [K, 3 * b, -1]), -1));
    const zeros = tf.zerosLike(mu);
    const kl = c.autoencoder ? tf.zerosLike(recon)
      : c.hyperbolic ? this.wrappedKl(mu, scale, eps)
        : tf.sub(this.normalLogProb(mu, scale, z), this.normalLogProb(zeros, tf.onesLike(mu), z));
    // −log w_k per sample [K, 3B]; the IWAE bound averages the weights inside the log, the ELBO outside
    const nlw = tf.add(recon, kl);
    const elbo = c.iwae ? tf.neg(tf.mean(tf.sub(tf.logSumExp(tf.neg(nlw), 0), Math.log(K)))) : tf.mean(nlw);
    // what is minimised: the KL term weighted (warm-up) and floored (free bits); the ELBO when both are off
    const w = klWeight(c, step);
    let objective = elbo;
    if (c.iwae && w !== 1) objective = tf.neg(tf.mean(tf.sub(tf.logSumExp(tf.neg(tf.add(recon, tf.mul(kl, w))), 0), Math.log(K))));
    else if (!c.iwae && (w !== 1 || c.free_bits)) objective = tf.add(tf.mean(recon), tf.mul(c.free_bits ? tf.maximum(tf.mean(kl), c.free_bits) : tf.mean(kl), w));
    let triplet: T = tf.scalar(0);
    let loss = objective;
    if (c.triplet) {
      const ma = tf.slice(mu, [0, 0], [b, -1]);
      const mp = tf.slice(mu, [b, 0], [b, -1]);
      const mn = tf.slice(mu, [2 * b, 0], [b, -1]);
      let dp = this.distance(ma, mp);
      let dn = this.distance(ma, mn);
      if (c.squared_triplet) {
        dp = tf.square(dp);
        dn = tf.square(dn);
      }
      triplet = tf.mean(tf.relu(tf.add(tf.sub(dp, dn), c.alpha)));
      loss = tf.add(objective, tf.mul(c.beta, triplet));
    }
    return { loss, elbo, recon: tf.mean(recon), kl: tf.mean(kl), triplet, mu, scale, xhat, z };
  }

  /** Gradients of the loss for every parameter (PyTorch names and layouts), and the loss terms. */
  gradients(anchor: T, positive: T, negative: T, eps: T, step = 0): { grads: Map<string, T>; terms: Record<string, number> } {
    let terms: Record<string, number> = {};
    const vars = [...this.params.values()];
    const { grads } = tf.variableGrads(() => {
      const out = this.loss(anchor, positive, negative, eps, step);
      terms = { elbo: out.elbo.dataSync()[0], recon: out.recon.dataSync()[0], kl: out.kl.dataSync()[0], triplet: out.triplet.dataSync()[0], loss: out.loss.dataSync()[0] };
      return out.loss as tf.Scalar;
    }, vars);
    const byName = new Map<string, T>();
    // a parameter the loss does not use (the autoencoder's scale head) gets a zero gradient, as PyTorch's step leaves it unchanged
    for (const [name, v] of this.params) byName.set(name, grads[v.name] ?? tf.zerosLike(v));
    return { grads: byName, terms };
  }

  /** One Adam step with PyTorch's update rule (eps 1e-8, bias corrections, eps outside the sqrt correction), after `step` steps (the rate under lr_warmup). */
  adamStep(grads: Map<string, T>, step = 0): void {
    const lr = lrAt(this.cfg, step);
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    this.adam.t += 1;
    const t = this.adam.t;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    let clip = 1;
    if (this.cfg.grad_clip) {
      const total = Math.sqrt([...grads.values()].reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0], 0));
      clip = Math.min(1, this.cfg.grad_clip / (total + 1e-6));
    }
    tf.tidy(() => {
      for (const [name, v] of this.params) {
        const g = clip === 1 ? grads.get(name) : tf.mul(grads.get(name) as T, clip);
        if (!g) continue;
        const m = tf.add(tf.mul(this.adam.m.get(name) ?? tf.zerosLike(v), b1), tf.mul(g, 1 - b1));
        const s = tf.add(tf.mul(this.adam.v.get(name) ?? tf.zerosLike(v), b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(s), Math.sqrt(bc2)), eps);
        v.assign(tf.sub(v, tf.mul(lr / bc1, tf.div(m, denom))));
        this.adam.m.get(name)?.dispose();
        this.adam.v.get(name)?.dispose();
        this.adam.m.set(name, tf.keep(m));
        this.adam.v.set(name, tf.keep(s));
      }
    });
  }

  /** The dense path (stride-1 unpadded encoders): volume [D, H, W] resampled by m/p → mu [Do, Ho, Wo, d]. */
  encodeDense(volume: T, stride: number, origin: number, outShape: [number, number, number]): T {
    const c = this.cfg;
    if (c.strides.some((s) => s !== 1) || c.padding !== 0) throw new Error('dense encoding needs a stride-1 unpadded encoder (presets small and valid)');
    const [D, H, W] = volume.shape as number[];
    let h = this.features(tf.reshape(volume, [1, D, H, W, 1]));
    h = tf.slice(h, [0, origin, origin, origin, 0], [-1, -1, -1, -1, -1]);
    const w = tf.reshape(this.p('head_mu.weight'), [c.latent_dim, c.enc_channels[c.enc_channels.length - 1], this.s, this.s, this.s]);
    let t = tf.add(conv3dValid(h as tf.Tensor5D, layout.convFilter(w) as tf.Tensor5D, stride), this.p('head_mu.bias'));
    t = tf.slice(t, [0, 0, 0, 0, 0], [1, outShape[0], outShape[1], outShape[2], c.latent_dim]);
    t = tf.reshape(t, [...outShape, c.latent_dim]);
    return c.hyperbolic ? G.expmap0(t, c.curvature) : t;
  }

  getWeights(): Map<string, WireTensor> {
    const out = new Map<string, WireTensor>();
    for (const [name, v] of this.params) out.set(name, { name, dtype: 'float32', shape: v.shape, data: v.dataSync() as Float32Array });
    return out;
  }

  setWeights(weights: Map<string, WireTensor>): void {
    const missing = [...this.params.keys()].filter((k) => !weights.has(k));
    const extra = [...weights.keys()].filter((k) => !this.params.has(k));
    if (missing.length || extra.length) throw new Error(`weights do not match the model: missing [${missing.slice(0, 5).join(', ')}], unexpected [${extra.slice(0, 5).join(', ')}]`);
    for (const [name, v] of this.params) {
      const w = weights.get(name) as WireTensor;
      if (w.shape.join() !== v.shape.join()) throw new Error(`weight '${name}' must have shape [${v.shape.join(', ')}], got [${w.shape.join(', ')}]`);
      v.assign(tf.tensor(Float32Array.from(w.data), w.shape));
    }
  }

  /** Adam's moments (PyTorch's names: adam.exp_avg.NAME, adam.exp_avg_sq.NAME) and step count. */
  optimizerState(): { tensors: Map<string, WireTensor>; t: number } {
    const tensors = new Map<string, WireTensor>();
    for (const [key, moments] of [['exp_avg', this.adam.m], ['exp_avg_sq', this.adam.v]] as const) {
      for (const [name, v] of moments) {
        const full = `adam.${key}.${name}`;
        tensors.set(full, { name: full, dtype: 'float32', shape: v.shape, data: v.dataSync() as Float32Array });
      }
    }
    return { tensors, t: this.adam.t };
  }

  setOptimizerState(tensors: Map<string, WireTensor>, t: number): void {
    for (const m of [this.adam.m, this.adam.v]) {
      for (const v of m.values()) v.dispose();
      m.clear();
    }
    for (const [name, v] of this.params) {
      for (const [key, moments] of [['exp_avg', this.adam.m], ['exp_avg_sq', this.adam.v]] as const) {
        const w = tensors.get(`adam.${key}.${name}`);
        if (!w) continue;
        if (w.shape.join() !== v.shape.join()) throw new Error(`optimiser state 'adam.${key}.${name}' must have shape [${v.shape.join(', ')}], got [${w.shape.join(', ')}]`);
        moments.set(name, tf.keep(tf.tensor(Float32Array.from(w.data), w.shape)));
      }
    }
    this.adam.t = t;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const m of [this.adam.m, this.adam.v]) for (const t of m.values()) t.dispose();
  }
}
