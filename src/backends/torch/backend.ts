/**
 * The torch backend: the model lives in a PyTorch worker reached over ZeroMQ (a local process this
 * backend starts itself, or a remote tcp:// worker). Triplet batches allocated as wire frames
 * (allocateTripletBatch(..., true)) go from the sampler to the socket without a copy.
 */

import { HypersegError } from '../../errors.js';
import { type Tensor, TensorFrame } from '../../protocol/codec.js';
import type { TripletBatch } from '../../sampling/triplets.js';
import type { BackendInfo, ComputeBackend, Encoded, ModelConfig, TrainStepResult } from '../types.js';
import { WorkerClient } from './client.js';
import { type SpawnOptions, type WorkerProcess, spawnWorker } from './process.js';

export interface TorchBackendOptions extends SpawnOptions {
  /** Connect to a running worker (tcp://host:port or ipc://path) instead of starting one. */
  endpoint?: string;
  curveServerKey?: string;
  timeoutMs?: number;
}

export class TorchBackend implements ComputeBackend {
  readonly name = 'torch';
  private client!: WorkerClient;
  private proc: WorkerProcess | null = null;
  private hello: Record<string, unknown> = {};
  private lastInit: { config: ModelConfig; seed: number } | null = null;
  private lastCheckpoint: string | null = null;
  private readonly options: TorchBackendOptions;

  private constructor(options: TorchBackendOptions) {
    this.options = options;
  }

  static async start(options: TorchBackendOptions = {}): Promise<TorchBackend> {
    const b = new TorchBackend(options);
    await b.connect();
    return b;
  }

  private async connect(): Promise<void> {
    if (this.options.endpoint) {
      this.client = new WorkerClient(this.options.endpoint, { timeoutMs: this.options.timeoutMs, curveServerKey: this.options.curveServerKey });
    } else {
      this.proc = await spawnWorker(this.options);
      this.client = new WorkerClient(this.proc.endpoint, { timeoutMs: this.options.timeoutMs, died: this.proc.exited, stderrTail: this.proc.stderrTail });
    }
    this.hello = (await this.client.request('hello')).result;
  }

  /** The worker's process id (local workers). */
  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  info(): BackendInfo {
    return { backend: 'torch', endpoint: this.client.endpoint, ...this.hello };
  }

  async init(config: ModelConfig, seed: number) {
    const r = (await this.client.request('init', { config, seed })).result;
    this.lastInit = { config, seed };
    return r as { config: Required<ModelConfig>; parameters: number };
  }

  async trainStep(batch: TripletBatch): Promise<TrainStepResult> {
    const shape = [batch.size, 1, batch.m, batch.m, batch.m];
    const tensors = batch.frames
      ? [batch.frames.anchor, batch.frames.positive, batch.frames.negative]
      : (['anchor', 'positive', 'negative'] as const).map((name): Tensor => ({ name, dtype: 'float32', shape, data: batch[name] }));
    return (await this.client.request('train_step', {}, tensors)).result as unknown as TrainStepResult;
  }

  async encode(patches: Float32Array | TensorFrame<Float32Array>, count: number, m: number): Promise<Encoded> {
    const t = patches instanceof TensorFrame ? patches : { name: 'patches', dtype: 'float32' as const, shape: [count, 1, m, m, m], data: patches.subarray(0, count * m ** 3) };
    const r = await this.client.request('encode', {}, [t]);
    const mu = r.tensors.get('mu');
    const scale = r.tensors.get('scale');
    if (!mu || !scale) throw new HypersegError('WORKER_ERROR', 'encode reply lacks mu or scale');
    return { mu: mu.data as Float32Array, scale: scale.data as Float32Array, d: mu.shape[1] };
  }

  async encodeVolume(volume: Float32Array, shape: [number, number, number], stride: number, origin: number, outShape: [number, number, number]): Promise<Float32Array> {
    const r = await this.client.request('encode_volume', { stride, origin, out_shape: outShape }, [{ name: 'volume', dtype: 'float32', shape, data: volume }]);
    const mu = r.tensors.get('mu');
    if (!mu) throw new HypersegError('WORKER_ERROR', 'encode_volume reply lacks mu');
    return mu.data as Float32Array;
  }

  async getWeights(): Promise<Map<string, Tensor>> {
    return (await this.client.request('get_weights')).tensors;
  }

  async setWeights(weights: Map<string, Tensor>): Promise<void> {
    await this.client.request('set_weights', {}, [...weights.values()]);
  }

  async save(path: string): Promise<void> {
    await this.client.request('save', { path });
    this.lastCheckpoint = path;
  }

  async load(path: string): Promise<void> {
    await this.client.request('load', { path });
    this.lastCheckpoint = path;
  }

  /** Sends frames to the worker and back unchanged (transport benchmark). */
  async echo(frames: TensorFrame[]): Promise<Map<string, Tensor>> {
    return (await this.client.request('echo', {}, frames)).tensors;
  }

  /** Runs `steps` train steps in a Python loop inside the worker (orchestration benchmark). */
  async benchTrain(steps: number, batch: number): Promise<{ seconds: number }> {
    return (await this.client.request('bench_train', { steps, batch })).result as { seconds: number };
  }

  /** Starts a fresh local worker after a failure: same model configuration and seed, then the last checkpoint if any. */
  async restart(): Promise<void> {
    this.client.close();
    this.proc?.child.kill('SIGKILL');
    await this.connect();
    if (this.lastInit) await this.init(this.lastInit.config, this.lastInit.seed);
    if (this.lastCheckpoint) await this.load(this.lastCheckpoint);
  }

  async close(): Promise<void> {
    if (this.proc && !this.client.dead) {
      try {
        await this.client.request('shutdown', {}, [], 5000);
      } catch {
        // fall through to kill
      }
    }
    this.client.close();
    if (this.proc && this.proc.child.exitCode === null) {
      const exited = this.proc.exited;
      const t = setTimeout(() => this.proc?.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  }
}
