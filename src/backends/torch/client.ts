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
  /**
   * CURVE: this client's key pair (Z85), for a worker that lets in only listed clients (--curve-client-keys);
   * default a new pair per connection, which such a worker refuses.
   */
  curveClientKey?: { publicKey: string; secretKey: string };
  /**
   * Without `died` (remote workers): how long a lost connection may stay lost before requests fail as
   * WORKER_DIED (default 15 s; ZMQ reconnects by itself to a worker that comes back).
   */
  reconnectMs?: number;
  /** ZMTP heartbeats for remote workers: interval and timeout in ms (default 2,000 and 10,000). */
  heartbeat?: { intervalMs: number; timeoutMs: number };
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
  /** Remote workers: whether the connection is up now, and since when it is down (null: up, or never up). */
  private connected = false;
  private lostSince: number | null = null;
  /** Remote workers: the last failed ZMTP handshake, while none has succeeded since (a CURVE key mismatch). */
  private handshakeError: string | null = null;
  private reconnected: (() => void) | null = null;

  constructor(endpoint: string, options: ClientOptions = {}) {
    this.endpoint = endpoint;
    this.options = options;
    this.socket = new Dealer({ linger: 0 });
    if (options.curveServerKey) {
      const pair = options.curveClientKey ?? curveKeyPair();
      this.socket.curveServerKey = options.curveServerKey;
      this.socket.curvePublicKey = pair.publicKey;
      this.socket.curveSecretKey = pair.secretKey;
    }
    if (!options.died) this.watchConnection(options.heartbeat ?? { intervalMs: 2000, timeoutMs: 10_000 });
    this.socket.connect(endpoint);
    // One reaction for the client's lifetime (not one per request): a worker's death fails what waits.
    void options.died?.then((how) => {
      this.deadReason = how;
      this.rejectPending((op) => this.died(op));
    });
  }

  /**
   * A remote worker has no process to watch: the connection is. ZMTP heartbeats close a connection whose peer
   * stops answering (a machine or network gone), and the OS closes it when the worker process ends; either way
   * ZMQ reports 'disconnect', and what waits fails at once as WORKER_DIED (a reply cannot come back over another
   * connection). Before, a worker killed mid-segment left the request to its 600 s timeout, reported as TIMEOUT.
   */
  private watchConnection(hb: { intervalMs: number; timeoutMs: number }): void {
    this.socket.heartbeatInterval = hb.intervalMs;
    this.socket.heartbeatTimeout = hb.timeoutMs;
    // up once the ZMTP handshake (CURVE included) has succeeded, not at the TCP connect
    this.socket.events.on('handshake', () => {
      this.connected = true;
      this.lostSince = null;
      this.handshakeError = null;
      this.reconnected?.();
      this.reconnected = null;
    });
    for (const type of ['handshake:error:protocol', 'handshake:error:auth', 'handshake:error:other'] as const) {
      this.socket.events.on(type, (e) => {
        this.handshakeError = `${type.slice('handshake:error:'.length)}${'error' in e && e.error?.message ? `: ${e.error.message}` : ''}`;
      });
    }
    this.socket.events.on('disconnect', () => {
      if (!this.connected) {
        // the handshake failed: without the server's CURVE key (or with the wrong one), or not a hyperseg worker;
        // ZMQ retries for ever, and a request waited for its timeout
        if (this.handshakeError !== null) this.rejectPending((op) => this.refused(op));
        return;
      }
      this.connected = false;
      this.lostSince = Date.now();
      this.rejectPending((op) => new HypersegError('WORKER_DIED', `lost the connection to the torch worker at ${this.endpoint} during '${op}' (the worker ended, or the network dropped it)`, {
        suggestion: 'check the worker, restart it, and run the command again (hyperseg train --resume RUN continues a run)',
      }));
    });
  }

  private refused(op: string): HypersegError {
    const { curveServerKey, curveClientKey } = this.options;
    // a worker's ZAP handler refusing the client's key fails the handshake as 'auth'; a wrong server key as 'protocol'
    const byKey = curveServerKey && this.handshakeError?.startsWith('auth');
    let suggestion: string;
    if (!curveServerKey) suggestion = 'a worker serving with --allow-remote needs its CURVE public key, which it prints at start: HYPERSEG_CURVE_SERVER_KEY=KEY; else check the endpoint is a hyperseg worker';
    else if (byKey && curveClientKey) suggestion = `the worker lets in only the clients listed in its --curve-client-keys file: add this client's public key ${curveClientKey.publicKey} there and restart it`;
    else if (byKey) suggestion = 'the worker lets in only the clients listed in its --curve-client-keys file: set HYPERSEG_CURVE_CLIENT_SECRET_KEY to a secret key whose public key is listed there (hyperseg keygen makes a pair)';
    else suggestion = 'check that the server public key is the one of this worker\'s --curve-secret-key';
    const what = byKey ? `refused this client's CURVE key${curveClientKey ? ` (public key ${curveClientKey.publicKey})` : ' (a new key: HYPERSEG_CURVE_CLIENT_SECRET_KEY is not set)'}` : `closed the connection during the ZMTP handshake (${this.handshakeError})`;
    return new HypersegError('WORKER_ERROR', `the torch worker at ${this.endpoint} ${what} before '${op}'`, { suggestion });
  }

  /** Remote workers: after a lost connection, waits up to reconnectMs for ZMQ to reconnect, else WORKER_DIED. */
  private async awaitConnection(op: string): Promise<void> {
    if (this.options.died) return;
    if (!this.connected && this.handshakeError !== null) throw this.refused(op);
    if (this.lostSince === null) return;
    const left = (this.options.reconnectMs ?? 15_000) - (Date.now() - this.lostSince);
    const back = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), Math.max(0, left));
      this.reconnected = () => {
        clearTimeout(t);
        resolve(true);
      };
    });
    if (!(await back)) {
      throw new HypersegError('WORKER_DIED', `the torch worker at ${this.endpoint} is unreachable: its connection was lost ${((Date.now() - this.lostSince) / 1000).toFixed(0)} s ago and has not come back (before '${op}')`, {
        suggestion: 'check that the worker runs and listens there, then run the command again',
      });
    }
  }

  /** Fails every request waiting for a reply with the error `why` makes for its operation. */
  private rejectPending(why: (op: string) => unknown): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(why(p.op));
    }
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
            this.rejectPending(() => e);
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
    await this.awaitConnection(op);
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
    this.rejectPending((op) => new HypersegError('WORKER_DIED', `connection to the torch worker at ${this.endpoint} was closed during '${op}'`));
    this.socket.close();
  }
}
