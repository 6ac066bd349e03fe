/**
 * The one interface every compute backend implements (torch over ZeroMQ now; TensorFlow.js in
 * process later). Callers get a backend from `createBackend` and never import one directly.
 */

import type { Tensor } from '../protocol/codec.js';
import type { TripletBatch } from '../sampling/triplets.js';

/** Model configuration (field names as in the protocol's init, see proto/PROTOCOL.md). */
export interface ModelConfig {
  preset?: 'small' | 'valid' | 'paper';
  m?: number;
  latent_dim?: number;
  curvature?: number;
  hyperbolic?: boolean;
  gyroconv?: boolean;
  triplet?: boolean;
  enc_channels?: number[];
  kernel?: number;
  padding?: number;
  strides?: number[];
  samples?: number;
  beta?: number;
  alpha?: number;
  squared_triplet?: boolean;
  lr?: number;
  grad_clip?: number | null;
  /** A plain autoencoder (baseline): the decoder reads mu, no noise, no KL term. */
  autoencoder?: boolean;
  /**
   * The importance-weighted bound (Burda et al. 2016) over the K = `samples` posterior samples in
   * place of the ELBO's average: −log (1/K Σ_k w_k), w_k = p(x|z_k) p(z_k) / q(z_k|x). Equal to the
   * ELBO for K = 1, tighter for K > 1.
   */
  iwae?: boolean;
  /**
   * Against posterior collapse; both off (0) by default and outside the paper's method. kl_warmup:
   * the KL term's weight in the loss rises linearly from 0 to 1 over the first kl_warmup steps
   * (weight min(1, t / kl_warmup) at the step that follows t steps). free_bits: the loss takes
   * max(free_bits, batch-mean KL) in nats, so nothing pushes the posterior closer than that to the
   * prior. The reported `elbo` and `kl` stay the bound's own terms; `loss` is what is minimised.
   */
  kl_warmup?: number;
  free_bits?: number;
  /**
   * Adam's learning rate rises linearly to `lr` over the first lr_warmup steps: lr·min(1, (t + 1) /
   * lr_warmup) at the step that follows t steps (0: off).
   */
  lr_warmup?: number;
  /** The hidden layers' slope below zero: 0 (default) is the paper's ReLU, > 0 a leaky ReLU whose units cannot die. */
  leaky_slope?: number;
}

export interface BackendInfo {
  backend: string;
  /** Engine details (torch version, device, threads, ...). */
  [key: string]: unknown;
}

export interface TrainStepResult {
  loss: number;
  elbo: number;
  recon: number;
  kl: number;
  triplet: number;
  step: number;
  seconds: number;
}

export interface Encoded {
  /** [count, d] means (on the ball for hyperbolic models). */
  mu: Float32Array;
  /** [count, d] posterior scales. */
  scale: Float32Array;
  d: number;
  /** Seconds the model's forward pass took where the backend measures it apart from transport (torch: inside the worker). */
  computeSeconds?: number;
}

export interface ComputeBackend {
  readonly name: string;
  info(): BackendInfo;
  init(config: ModelConfig, seed: number): Promise<{ config: Required<ModelConfig>; parameters: number }>;
  trainStep(batch: TripletBatch): Promise<TrainStepResult>;
  /** patches: [count, 1, m, m, m]. */
  encode(patches: Float32Array, count: number, m: number): Promise<Encoded>;
  /** The dense path: a volume already resampled by m/p, shape [D, H, W] (x fastest); returns [Do, Ho, Wo, d]. */
  encodeVolume(volume: Float32Array, shape: [number, number, number], stride: number, origin: number, outShape: [number, number, number]): Promise<Float32Array>;
  getWeights(): Promise<Map<string, Tensor>>;
  setWeights(weights: Map<string, Tensor>): Promise<void>;
  /** A full checkpoint (weights, optimiser and noise state) for exact resume, in the backend's checkpoint layout. */
  save(path: string): Promise<void>;
  /** The weights alone, PyTorch's names and layouts, the configuration in the metadata: the file plain PyTorch loads. */
  saveWeights(path: string): Promise<void>;
  load(path: string): Promise<void>;
  /** Model weights from a safetensors file written by either backend (a checkpoint or a weights save). */
  loadWeights(path: string): Promise<void>;
  close(): Promise<void>;
}
