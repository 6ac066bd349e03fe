/**
 * The torch backend: the model lives in PyTorch workers reached over ZeroMQ — local processes this
 * backend starts itself, or running workers at tcp:// (or ipc://) endpoints.
 *
 * With several workers they form a pool: the first (primary) trains; before inference, the others
 * receive the primary's weights whenever they changed, and `encode` splits each batch across all
 * workers concurrently. With enableDataParallel() all of them train, each on a shard of every batch,
 * in one torch.distributed group. Triplet batches allocated as wire frames (allocateTripletBatch(..., true))
 * go from the sampler to the socket without a copy.
 */

import { rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { HypersegError } from '../../errors.js';
import { type Tensor, TensorFrame } from '../../protocol/codec.js';
import type { TripletBatch } from '../../sampling/triplets.js';
import { modelWeights, readSafetensors, writeWeightsFile } from '../../weights/safetensors.js';
import { resolveModelConfig } from '../config.js';
import type { BackendInfo, ComputeBackend, Encoded, ModelConfig, TrainStepResult } from '../types.js';
import { WorkerClient } from './client.js';
import { checkCurvePublicKey, curvePairOf } from './curve.js';
import { type SpawnOptions, type WorkerProcess, spawnWorker } from './process.js';

export interface TorchBackendOptions extends SpawnOptions {
  /** Connect to running workers (tcp://host:port or ipc://path) instead of starting them. */
  workers?: string[];
  /** Local workers to start when `workers` is not given (default 1). */
  localWorkers?: number;
  curveServerKey?: string;
  /** This client's CURVE secret key (Z85), for workers that list their clients (default: HYPERSEG_CURVE_CLIENT_SECRET_KEY). */
  curveClientSecretKey?: string;
  timeoutMs?: number;
}

/** A key given as an option, else by the environment variable `env` (empty counts as unset), with where it came from for error messages. */
function keyFrom(option: string | undefined, optionName: string, env: string): { key: string; from: string } | undefined {
  if (option !== undefined) return { key: option, from: optionName };
  const v = process.env[env];
  return v ? { key: v, from: env } : undefined;
}

export class TorchBackend implements ComputeBackend {
  readonly name = 'torch';
  private clients: WorkerClient[] = [];
  private procs: WorkerProcess[] = [];
  private hello: Record<string, unknown> = {};
  private lastInit: { config: ModelConfig; seed: number } | null = null;
  private lastCheckpoint: string | null = null;
  /** The secondaries' weights lag behind the primary's. */
  private stale = false;
  /** Data-parallel training across the pool (enableDataParallel): every worker trains on a shard. */
  private dataParallel = false;
  /** enableDataParallel's options, to form a new group after restart(). */
  private dataParallelInit: { initMethod?: string; timeoutS?: number } | null = null;
  private readonly options: TorchBackendOptions;

  private constructor(options: TorchBackendOptions) {
    this.options = options;
  }

  static async start(options: TorchBackendOptions = {}): Promise<TorchBackend> {
    const b = new TorchBackend(options);
    try {
      await b.connect();
    } catch (e) {
      await b.close().catch(() => undefined);
      throw e;
    }
    return b;
  }

  private async connect(): Promise<void> {
    const { workers, timeoutMs } = this.options;
    if (workers && workers.length > 0) {
      // the CLI's --workers reach a CURVE worker (--allow-remote) through the environment: a key in argv shows in `ps`
      const serverKey = keyFrom(this.options.curveServerKey, 'curveServerKey', 'HYPERSEG_CURVE_SERVER_KEY');
      const curveServerKey = serverKey && checkCurvePublicKey(serverKey.key, serverKey.from);
      const clientSecret = keyFrom(this.options.curveClientSecretKey, 'curveClientSecretKey', 'HYPERSEG_CURVE_CLIENT_SECRET_KEY');
      const curveClientKey = clientSecret && curvePairOf(clientSecret.key, clientSecret.from);
      this.clients = workers.map((ep) => new WorkerClient(ep, { timeoutMs, curveServerKey, curveClientKey }));
    } else {
      const n = this.options.localWorkers ?? 1;
      if (!Number.isInteger(n) || n < 1) throw new HypersegError('INVALID_ARGUMENT', `localWorkers must be an integer ≥ 1, got ${n}`);
      this.procs = await Promise.all(Array.from({ length: n }, () => spawnWorker(this.options)));
      this.clients = this.procs.map((p) => new WorkerClient(p.endpoint, { timeoutMs, died: p.exited, stderrTail: p.stderrTail }));
    }
    const hellos = await Promise.all(this.clients.map((c) => c.request('hello')));
    this.hello = hellos[0].result;
  }

  private get primary(): WorkerClient {
    return this.clients[0];
  }

  /** Process id of the primary worker (local workers). */
  get pid(): number | undefined {
    return this.procs[0]?.child.pid;
  }

  /** Number of workers in the pool. */
  get size(): number {
    return this.clients.length;
  }

  info(): BackendInfo {
    return { backend: 'torch', endpoints: this.clients.map((c) => c.endpoint), workers: this.clients.length, ...this.hello };
  }

  async init(config: ModelConfig, seed: number) {
    // Same configuration and seed everywhere: identical initial weights on every worker.
    const replies = await Promise.all(this.clients.map((c) => c.request('init', { config, seed })));
    this.lastInit = { config, seed };
    this.stale = false;
    return replies[0].result as { config: Required<ModelConfig>; parameters: number };
  }

  /**
   * Data-parallel training across the pool: the workers join one torch.distributed group (gloo on
   * CPU, NCCL on CUDA) and from now on each train step splits the batch into one shard per worker;
   * gradients are averaged across them, so every worker keeps the same weights, Adam state and noise
   * generator, and a step equals the single-worker step on the whole batch up to float summation
   * order (tested). Needs ≥ 2 workers that share the run folder's filesystem (checkpoints are loaded
   * by each). `initMethod`: the rendezvous address, default a free loopback port (local pools);
   * remote workers need one they can all reach (and --allow-remote).
   */
  async enableDataParallel(options: { initMethod?: string; timeoutS?: number } = {}): Promise<{ world: number; backend: string }> {
    const n = this.clients.length;
    if (n < 2) throw new HypersegError('INVALID_ARGUMENT', `data-parallel training needs at least 2 workers, the pool has ${n}`);
    if (this.dataParallel) return { world: n, backend: String(this.hello.device).startsWith('cuda') ? 'nccl' : 'gloo' };
    await this.syncPool();
    const initMethod = options.initMethod ?? `tcp://127.0.0.1:${await freePort()}`;
    const timeout = options.timeoutS ?? 60;
    const replies = await Promise.all(this.clients.map((c, rank) => c.request('join', { rank, world: n, init_method: initMethod, timeout }, [], (timeout + 30) * 1000)));
    this.dataParallel = true;
    this.dataParallelInit = { initMethod: options.initMethod, timeoutS: options.timeoutS };
    return { world: n, backend: String(replies[0].result.backend) };
  }

  async trainStep(batch: TripletBatch): Promise<TrainStepResult> {
    if (this.dataParallel) return this.trainStepSharded(batch);
    const shape = [batch.size, 1, batch.m, batch.m, batch.m];
    const tensors = batch.frames
      ? [batch.frames.anchor, batch.frames.positive, batch.frames.negative]
      : (['anchor', 'positive', 'negative'] as const).map((name): Tensor => ({ name, dtype: 'float32', shape, data: batch[name] }));
    this.stale = this.clients.length > 1;
    return (await this.primary.request('train_step', {}, tensors)).result as unknown as TrainStepResult;
  }

  /** Whether train steps are split across the pool (enableDataParallel). */
  get isDataParallel(): boolean {
    return this.dataParallel;
  }

  private async trainStepSharded(batch: TripletBatch): Promise<TrainStepResult> {
    const n = this.clients.length;
    const total = batch.size;
    if (total < n) throw new HypersegError('INVALID_ARGUMENT', `a batch of ${total} triplets cannot be split over ${n} data-parallel workers`);
    const per = batch.m ** 3;
    const bounds = Array.from({ length: n + 1 }, (_, i) => Math.round((i * total) / n));
    const replies = await Promise.all(this.clients.map((c, r) => {
      const lo = bounds[r];
      const b = bounds[r + 1] - lo;
      const tensors = (['anchor', 'positive', 'negative'] as const).map((name): Tensor => ({
        name, dtype: 'float32', shape: [b, 1, batch.m, batch.m, batch.m], data: batch[name].subarray(lo * per, (lo + b) * per),
      }));
      return c.request('train_step', { shard: [lo, total] }, tensors);
    }));
    // each worker reports its shard's means: the batch's are their share-weighted sums
    const out = { loss: 0, elbo: 0, recon: 0, kl: 0, triplet: 0 };
    replies.forEach((rep, r) => {
      const share = (bounds[r + 1] - bounds[r]) / total;
      const t = rep.result as Record<keyof typeof out, number>;
      for (const k of Object.keys(out) as (keyof typeof out)[]) out[k] += share * t[k];
    });
    const first = replies[0].result as { step: number };
    return { ...out, step: first.step, seconds: Math.max(...replies.map((rep) => Number(rep.result.seconds))) };
  }

  /** Copies the primary's weights to the other workers if they changed since the last copy. */
  private async syncPool(): Promise<void> {
    if (!this.stale) return;
    const weights = await this.primary.request('get_weights');
    const tensors = [...weights.tensors.values()];
    await Promise.all(this.clients.slice(1).map((c) => c.request('set_weights', {}, tensors)));
    this.stale = false;
  }

  async encode(patches: Float32Array | TensorFrame<Float32Array>, count: number, m: number): Promise<Encoded> {
    const per = m * m * m;
    if (this.clients.length === 1 || count < 2 * this.clients.length) {
      const t = patches instanceof TensorFrame ? patches : { name: 'patches', dtype: 'float32' as const, shape: [count, 1, m, m, m], data: patches.subarray(0, count * per) };
      const r = await this.primary.request('encode', {}, [t]);
      return { ...unpackEncoded(r.tensors), computeSeconds: Number((r.result as { seconds?: number }).seconds) };
    }
    await this.syncPool();
    const data = patches instanceof TensorFrame ? patches.data : patches;
    const n = this.clients.length;
    const bounds = Array.from({ length: n + 1 }, (_, i) => Math.round((i * count) / n));
    const parts = await Promise.all(this.clients.map((c, i) => {
      const lo = bounds[i];
      const hi = bounds[i + 1];
      return c.request('encode', {}, [{ name: 'patches', dtype: 'float32', shape: [hi - lo, 1, m, m, m], data: data.subarray(lo * per, hi * per) }]);
    }));
    const enc = parts.map((p) => unpackEncoded(p.tensors));
    const d = enc[0].d;
    const mu = new Float32Array(count * d);
    const scale = new Float32Array(count * d);
    enc.forEach((e, i) => {
      mu.set(e.mu, bounds[i] * d);
      scale.set(e.scale, bounds[i] * d);
    });
    return { mu, scale, d };
  }

  async encodeVolume(volume: Float32Array, shape: [number, number, number], stride: number, origin: number, outShape: [number, number, number]): Promise<Float32Array> {
    const r = await this.primary.request('encode_volume', { stride, origin, out_shape: outShape }, [{ name: 'volume', dtype: 'float32', shape, data: volume }]);
    const mu = r.tensors.get('mu');
    if (!mu) throw new HypersegError('WORKER_ERROR', 'encode_volume reply lacks mu');
    return mu.data as Float32Array;
  }

  async getWeights(): Promise<Map<string, Tensor>> {
    return (await this.primary.request('get_weights')).tensors;
  }

  async setWeights(weights: Map<string, Tensor>): Promise<void> {
    await Promise.all(this.clients.map((c) => c.request('set_weights', {}, [...weights.values()])));
    this.stale = false;
  }

  async save(path: string): Promise<void> {
    await this.primary.request('save', { path });
    this.lastCheckpoint = path;
  }

  /**
   * Has every worker write a checkpoint at `path` (then removes it): workers reached by address write the run's
   * checkpoints on their own filesystem, only under their --files-root, and each member of a data-parallel group
   * loads them. Not a checkpoint of the run: the last one stays what restart() reloads.
   */
  async probeCheckpoint(path: string): Promise<void> {
    try {
      await Promise.all(this.clients.map((c) => c.request('save', { path })));
    } finally {
      for (const f of [path, `${path}.json`]) await rm(f, { force: true });
    }
  }

  async load(path: string): Promise<void> {
    if (this.dataParallel) {
      // every member needs the optimiser and generator state, not only the weights
      await Promise.all(this.clients.map((c) => c.request('load', { path })));
    } else {
      await this.primary.request('load', { path });
      this.stale = this.clients.length > 1;
    }
    this.lastCheckpoint = path;
  }

  /**
   * One step on fixed inputs and noise, reporting every intermediate (the parity suite); the model is
   * left unchanged. `step`: the steps taken before it, for the KL weight under kl_warmup (default: the worker's count).
   */
  async parity(batch: TripletBatch, eps: Float32Array, epsShape: number[], step?: number) {
    const shape = [batch.size, 1, batch.m, batch.m, batch.m];
    const tensors: Tensor[] = [
      ...(['anchor', 'positive', 'negative'] as const).map((name): Tensor => ({ name, dtype: 'float32', shape, data: batch[name] })),
      { name: 'eps', dtype: 'float32', shape: epsShape, data: eps },
    ];
    const r = await this.primary.request('parity', step === undefined ? {} : { step }, tensors);
    return { result: r.result, tensors: r.tensors };
  }

  async saveWeights(path: string): Promise<void> {
    if (!this.lastInit) throw new HypersegError('INVALID_ARGUMENT', 'no model: call init first');
    await writeWeightsFile(path, await this.getWeights(), resolveModelConfig(this.lastInit.config));
  }

  async loadWeights(path: string): Promise<void> {
    const { tensors } = await readSafetensors(path);
    await this.setWeights(modelWeights(tensors));
  }

  /** Writes the encoder as an ONNX graph (for OnnxEncoder: TypeScript-only inference). */
  async exportOnnx(path: string): Promise<void> {
    await this.primary.request('export_onnx', { path });
  }

  /** Sends frames to the primary worker and back unchanged (transport benchmark). */
  async echo(frames: TensorFrame[]): Promise<Map<string, Tensor>> {
    return (await this.primary.request('echo', {}, frames)).tensors;
  }

  /** Runs `steps` train steps in a Python loop inside the primary worker (orchestration benchmark). */
  async benchTrain(steps: number, batch: number): Promise<{ seconds: number }> {
    return (await this.primary.request('bench_train', { steps, batch })).result as { seconds: number };
  }

  /** Starts fresh workers after a failure: same model configuration and seed, then the last checkpoint if any. */
  async restart(): Promise<void> {
    for (const c of this.clients) c.close();
    for (const p of this.procs) p.child.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.exited));
    await this.connect();
    if (this.dataParallel) {
      // fresh local processes are in no group; running remote workers still are in the old one
      if (this.procs.length === 0) await this.leaveGroup();
      this.dataParallel = false;
      await this.enableDataParallel(this.dataParallelInit ?? {});
    }
    if (this.lastInit) await this.init(this.lastInit.config, this.lastInit.seed);
    if (this.lastCheckpoint) await this.load(this.lastCheckpoint);
  }

  /** Every member leaves its data-parallel group (remote workers outlive this client and must be free to join another). */
  private async leaveGroup(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.request('leave')));
  }

  async close(): Promise<void> {
    if (this.dataParallel && this.procs.length === 0) {
      this.dataParallel = false;
      await this.leaveGroup().catch(() => undefined); // a member that died has left already
    }
    await Promise.all(this.clients.map(async (c, i) => {
      if (this.procs[i] && !c.dead) {
        try {
          await c.request('shutdown', {}, [], 5000);
        } catch {
          // fall through to kill
        }
      }
      c.close();
    }));
    await Promise.all(this.procs.map(async (p) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
      await p.exited;
      clearTimeout(t);
    }));
  }
}

/** A TCP port free on the loopback interface now (for a rendezvous the workers bind right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function unpackEncoded(tensors: Map<string, Tensor>): Encoded {
  const mu = tensors.get('mu');
  const scale = tensors.get('scale');
  if (!mu || !scale) throw new HypersegError('WORKER_ERROR', 'encode reply lacks mu or scale');
  return { mu: mu.data as Float32Array, scale: scale.data as Float32Array, d: mu.shape[1] };
}
