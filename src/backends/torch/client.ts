/**
 * A ZeroMQ DEALER client for one worker: one request in flight at a time (requests queue), replies
 * matched by id, a timeout per request, and a clear error when the worker dies mid-request.
 */

import { Dealer, curveKeyPair } from 'zeromq';
import { HypersegError } from '../../errors.js';
import { type Envelope, type Message, PROTOCOL_VERSION, type Tensor, type TensorFrame, decodeMessage, encodeMessage } from '../../protocol/codec.js';

export interface ClientOptions {
  /** Per-request timeout (default 600 s: a train step on a slow CPU, a large volume). */
  timeoutMs?: number;
  /** Resolves with a description when the worker process ends (local workers). */
  died?: Promise<string>;
  /** Tail of the worker's stderr, for error messages. */
  stderrTail?: () => string;
  /** CURVE: the server's public key (Z85) for remote workers. */
  curveServerKey?: string;
}

interface Pending {
  op: string;
  resolve: (m: Message) => void;
  reject: (e: unknown) => void;
}

export class WorkerClient {
  readonly endpoint: string;
  private readonly socket: Dealer;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private deadReason: string | null = null;
  private readonly options: ClientOptions;
  /** Requests awaiting their reply, by id (one at a time in practice: requests queue). */
  private readonly pending = new Map<number, Pending>();
  private reading = false;

  constructor(endpoint: string, options: ClientOptions = {}) {
    this.endpoint = endpoint;
    this.options = options;
    this.socket = new Dealer({ linger: 0 });
    if (options.curveServerKey) {
      const pair = curveKeyPair();
      this.socket.curveServerKey = options.curveServerKey;
      this.socket.curvePublicKey = pair.publicKey;
      this.socket.curveSecretKey = pair.secretKey;
    }
    this.socket.connect(endpoint);
    // One reaction for the client's lifetime (not one per request): a worker's death fails what waits.
    void options.died?.then((how) => {
      this.deadReason = how;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(this.died(p.op));
      }
    });
  }

  get dead(): boolean {
    return this.deadReason !== null;
  }

  /** Sends a request and resolves with the reply's result and tensors; throws HypersegError on failure. */
  request(op: string, args: Record<string, unknown> = {}, tensors: (Tensor | TensorFrame)[] = [], timeoutMs?: number): Promise<Message & { result: Record<string, unknown> }> {
    const run = () => this.exchange(op, args, tensors, timeoutMs ?? this.options.timeoutMs ?? 600_000);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private died(op: string): HypersegError {
    const tail = this.options.stderrTail?.() ?? '';
    return new HypersegError('WORKER_DIED', `torch worker at ${this.endpoint} ${this.deadReason ?? 'is gone'} during '${op}'${tail ? `; its last output:\n${tail}` : ''}`, {
      suggestion: 'start the backend again (TorchBackend.restart() reloads the last checkpoint)',
    });
  }

  /** The single reader: every reply goes to the request with its id; late replies are dropped. */
  private startReader(): void {
    if (this.reading) return;
    this.reading = true;
    void (async () => {
      try {
        for await (const frames of this.socket) {
          let msg: Message;
          try {
            msg = decodeMessage(frames);
          } catch (e) {
            for (const [id, p] of this.pending) {
              this.pending.delete(id);
              p.reject(e);
            }
            continue;
          }
          const p = this.pending.get(msg.envelope.id);
          if (!p) continue; // a late reply to a request that timed out
          this.pending.delete(msg.envelope.id);
          p.resolve(msg);
        }
      } catch {
        // the socket was closed
      } finally {
        this.reading = false;
      }
    })();
  }

  private async exchange(op: string, args: Record<string, unknown>, tensors: (Tensor | TensorFrame)[], timeoutMs: number) {
    if (this.deadReason !== null) throw this.died(op);
    const id = this.nextId++ >>> 0;
    const env: Envelope = { v: PROTOCOL_VERSION, id, op, args };
    this.startReader();
    const reply = new Promise<Message>((resolve, reject) => this.pending.set(id, { op, resolve, reject }));
    // The timer covers the send too: a DEALER with no reachable peer blocks sends indefinitely.
    const timer = setTimeout(() => {
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      p.reject(new HypersegError('TIMEOUT', `torch worker at ${this.endpoint} did not answer '${op}' within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    // Buffer views (not copies) of the frames: zeromq sends Buffers without copying them.
    const sent = this.socket.send(encodeMessage(env, tensors).map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
    await Promise.race([sent, reply.then(() => undefined, () => undefined)]);
    try {
      const msg = await reply;
      if (!msg.envelope.ok) {
        const err = msg.envelope.error ?? { code: 'INTERNAL', message: 'no error block' };
        // a refused non-finite step keeps its own code, so callers can tell it from a broken worker
        throw new HypersegError(err.code === 'NON_FINITE' && op === 'train_step' ? 'NON_FINITE' : 'WORKER_ERROR', `torch worker: ${op} failed [${err.code}]: ${err.message}`);
      }
      return { ...msg, result: msg.envelope.result ?? {} };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new HypersegError('WORKER_DIED', `connection to the torch worker at ${this.endpoint} was closed during '${p.op}'`));
    }
    this.socket.close();
  }
}
