import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curveKeyPair } from 'zeromq';
import { afterAll, describe, expect, it } from 'vitest';
import { TorchBackend } from '../../src/backends/torch/backend.js';
import { WorkerClient } from '../../src/backends/torch/client.js';
import { curvePairOf, z85Decode, z85Encode } from '../../src/backends/torch/curve.js';
import type { HypersegError } from '../../src/errors.js';
import { writeSynthDataset } from '../../src/data/dataset.js';
import { hyperseg } from '../helpers/cli.js';
import { workerPython, workerPythonPath } from '../../src/backends/torch/process.js';

/** A loopback endpoint on a port the system reports free. */
async function freeEndpoint(): Promise<string> {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  return `tcp://127.0.0.1:${port}`;
}

/** A worker serving other hosts with this CURVE secret key, once it says READY; its stderr is collected in `err`. */
async function startWorker(endpoint: string, secretKey: string, args: string[], err?: { text: string }): Promise<ChildProcess> {
  const child = spawn(workerPython(), ['-m', 'hyperseg_worker.server', '--endpoint', endpoint, '--allow-remote', '--threads', '1', ...args], {
    env: { ...process.env, PYTHONPATH: workerPythonPath(), HYPERSEG_CURVE_SECRET_KEY: secretKey },
    stdio: ['ignore', 'pipe', err ? 'pipe' : 'inherit'],
  });
  child.stderr?.on('data', (d: Buffer) => {
    if (err) err.text += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker not ready within 60 s')), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`worker exited with ${code} before READY${err ? `: ${err.text}` : ''}`)));
  });
  return child;
}

describe('remote workers: CURVE-encrypted tcp', () => {
  let proc: ChildProcess | null = null;
  afterAll(() => {
    proc?.kill('SIGKILL');
  });

  it('a client with the server key talks to a worker serving with --allow-remote; one without it is refused at the handshake, by name; --workers takes the key from HYPERSEG_CURVE_SERVER_KEY', async () => {
    const server = curveKeyPair();
    const endpoint = await freeEndpoint();
    // the key through the environment: a Z85 key may begin with '-', which `--curve-secret-key KEY` reads as
    // a missing value (this test failed so about once in 85 runs); the environment also keeps it out of `ps`
    proc = await startWorker(endpoint, server.secretKey, ['--any-client']);
    const good = new WorkerClient(endpoint, { curveServerKey: server.publicKey, timeoutMs: 30_000 });
    const hello = await good.request('hello');
    expect(hello.result.protocol).toBe(1);
    good.close();
    const plain = new WorkerClient(endpoint, { timeoutMs: 1500 });
    // refused at the handshake, said as such (it waited for its timeout: "did not answer 'ping' within 1.5 s")
    await expect(plain.request('ping')).rejects.toThrow(new RegExp(`the torch worker at ${endpoint} closed the connection during the ZMTP handshake \\(\\w+.*\\) before 'ping'`));
    plain.close();
    // the CLI's way (--workers, no key option): the key from HYPERSEG_CURVE_SERVER_KEY
    process.env.HYPERSEG_CURVE_SERVER_KEY = server.publicKey;
    try {
      const backend = await TorchBackend.start({ workers: [endpoint], timeoutMs: 30_000 });
      expect(backend.info().endpoints).toEqual([endpoint]);
      await backend.close();
    } finally {
      delete process.env.HYPERSEG_CURVE_SERVER_KEY;
    }
  }, 120_000);

  it('a worker with --curve-client-keys lets in only the listed clients; the CLI\'s key comes from HYPERSEG_CURVE_CLIENT_SECRET_KEY; the others are told which key to list', async () => {
    const server = curveKeyPair();
    const alice = curveKeyPair();
    const mallory = curveKeyPair();
    const dir = mkdtempSync(join(tmpdir(), 'hyperseg-curve-'));
    writeFileSync(join(dir, 'clients'), `# allowed\n${alice.publicKey}\n`);
    const endpoint = await freeEndpoint();
    const err = { text: '' };
    const worker = await startWorker(endpoint, server.secretKey, ['--curve-client-keys', join(dir, 'clients')], err);
    try {
      process.env.HYPERSEG_CURVE_SERVER_KEY = server.publicKey;
      process.env.HYPERSEG_CURVE_CLIENT_SECRET_KEY = alice.secretKey; // the secret alone: the public key is derived
      const backend = await TorchBackend.start({ workers: [endpoint], timeoutMs: 30_000 });
      expect(backend.info().endpoints).toEqual([endpoint]);
      await backend.close();
      // a listed key's pair given in full, and a key the worker does not list: refused at once, with the key to list
      const ok = new WorkerClient(endpoint, { curveServerKey: server.publicKey, curveClientKey: alice, timeoutMs: 30_000 });
      expect((await ok.request('ping')).result.pong).toBe(true);
      ok.close();
      const t0 = Date.now();
      const stranger = new WorkerClient(endpoint, { curveServerKey: server.publicKey, curveClientKey: mallory, timeoutMs: 20_000 });
      const refused = await stranger.request('ping').then(() => null, (e: HypersegError) => e);
      stranger.close();
      expect(refused?.message).toBe(`the torch worker at ${endpoint} refused this client's CURVE key (public key ${mallory.publicKey}) before 'ping'`);
      expect(refused?.suggestion).toContain(`add this client's public key ${mallory.publicKey} there`);
      expect(Date.now() - t0).toBeLessThan(10_000); // not the request's timeout
      const anonymous = new WorkerClient(endpoint, { curveServerKey: server.publicKey, timeoutMs: 20_000 });
      await expect(anonymous.request('ping')).rejects.toThrow(/refused this client's CURVE key \(a new key: HYPERSEG_CURVE_CLIENT_SECRET_KEY is not set\)/);
      anonymous.close();
      expect(err.text).toContain(`refused a client whose CURVE public key ${mallory.publicKey} is not in --curve-client-keys`);
      // a damaged server key is named (zeromq said only "Invalid argument"), and so is a damaged secret key
      process.env.HYPERSEG_CURVE_SERVER_KEY = 'xyz';
      await expect(TorchBackend.start({ workers: [endpoint], timeoutMs: 30_000 })).rejects.toThrow(/HYPERSEG_CURVE_SERVER_KEY is not a Z85 CURVE public key \(40 characters of the Z85 alphabet\), got 3 characters/);
      process.env.HYPERSEG_CURVE_SERVER_KEY = server.publicKey;
      process.env.HYPERSEG_CURVE_CLIENT_SECRET_KEY = alice.secretKey.slice(0, 39);
      await expect(TorchBackend.start({ workers: [endpoint], timeoutMs: 30_000 })).rejects.toThrow(/HYPERSEG_CURVE_CLIENT_SECRET_KEY is not a Z85 CURVE secret key \(40 characters of the Z85 alphabet\), got 39 characters/);
    } finally {
      delete process.env.HYPERSEG_CURVE_SERVER_KEY;
      delete process.env.HYPERSEG_CURVE_CLIENT_SECRET_KEY;
      worker.kill('SIGKILL');
    }
  }, 120_000);

  it('train --workers: checkpoints only under the worker\'s --files-root, and a run folder outside it refused before training', async () => {
    const server = curveKeyPair();
    const client = curveKeyPair();
    const dir = mkdtempSync(join(tmpdir(), 'hyperseg-curve-train-'));
    const root = join(dir, 'shared');
    mkdirSync(root);
    writeFileSync(join(dir, 'clients'), `${client.publicKey}\n`);
    await writeSynthDataset({ out: join(dir, 'data'), count: 4, size: 20, seed: 1 });
    const endpoint = await freeEndpoint();
    const worker = await startWorker(endpoint, server.secretKey, ['--curve-client-keys', join(dir, 'clients'), '--files-root', root]);
    process.env.HYPERSEG_CURVE_SERVER_KEY = server.publicKey;
    process.env.HYPERSEG_CURVE_CLIENT_SECRET_KEY = client.secretKey;
    try {
      const train = (out: string) => hyperseg('train', '--data', join(dir, 'data'), '--out', out, '--steps', '4', '--batch', '4', '--checkpoint-every', '2', '--workers', endpoint);
      // outside the root: said before the first step (it trained until the first checkpoint, then failed)
      const outside = train(join(dir, 'run-outside'));
      expect(outside.code).toBe(1);
      expect(outside.stderr).toContain(`the worker cannot write this run's checkpoints into ${join(dir, 'run-outside', 'checkpoints')}`);
      expect(outside.stderr).toContain(`outside this worker's --files-root ${root}`);
      expect(existsSync(join(dir, 'run-outside', 'config.json'))).toBe(false);
      const inside = train(join(root, 'run'));
      expect(inside.code, inside.stderr).toBe(0);
      expect(readdirSync(join(root, 'run', 'checkpoints')).sort()).toEqual(['step-000002.safetensors', 'step-000002.safetensors.json', 'step-000004.safetensors', 'step-000004.safetensors.json']);
    } finally {
      delete process.env.HYPERSEG_CURVE_SERVER_KEY;
      delete process.env.HYPERSEG_CURVE_CLIENT_SECRET_KEY;
      worker.kill('SIGKILL');
    }
  }, 180_000);

  it('a client\'s public key derived from its secret key is the one ZeroMQ made with it; Z85 follows RFC 32; keygen prints a matching pair', () => {
    // the RFC's own example: 8 bytes and their 10 characters
    const rfc = Uint8Array.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(rfc)).toBe('HelloWorld');
    expect([...(z85Decode('HelloWorld') ?? [])]).toEqual([...rfc]);
    expect(z85Decode('Hello~orld')).toBeNull();
    expect(z85Decode('%%%%%')).toBeNull(); // 85^5 - 1 exceeds 32 bits
    for (let i = 0; i < 50; i++) {
      const pair = curveKeyPair(); // libzmq's own (libsodium or tweetnacl)
      expect(z85Encode(z85Decode(pair.secretKey)!)).toBe(pair.secretKey);
      expect(curvePairOf(pair.secretKey, 'k').publicKey).toBe(pair.publicKey);
    }
    const r = hyperseg('keygen', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { publicKey: string; secretKey: string };
    expect(curvePairOf(j.secretKey, 'k').publicKey).toBe(j.publicKey);
    expect(hyperseg('keygen').stdout).toMatch(/^public key: \S{40}\nsecret key: \S{40}\n[^]*--curve-client-keys/);
  }, 60_000);

  it('the worker refuses --allow-remote without a CURVE key', async () => {
    const r = spawn(workerPython(), ['-m', 'hyperseg_worker.server', '--endpoint', 'tcp://0.0.0.0:5998', '--allow-remote'], {
      env: { ...process.env, PYTHONPATH: workerPythonPath(), HYPERSEG_CURVE_SECRET_KEY: '' }, // no key, even one set in the caller's environment
    });
    let err = '';
    r.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => r.on('exit', resolve));
    expect(code).not.toBe(0);
    expect(err).toMatch(/--allow-remote requires --curve-secret-key/);
  }, 60_000);
});
