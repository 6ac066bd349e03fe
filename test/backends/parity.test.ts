import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModelConfig } from '../../src/backends/config.js';
import { runParity } from '../../src/backends/parity.js';
import { TorchBackend } from '../../src/backends/torch/backend.js';

describe('parity: torch and TensorFlow.js compute the same model', () => {
  let torch: TorchBackend;
  beforeAll(async () => {
    torch = await TorchBackend.start({ threads: 1 });
  }, 180_000);
  afterAll(async () => {
    await torch?.close();
  });

  it('both backends resolve every preset to the same configuration', async () => {
    for (const preset of ['small', 'valid', 'paper'] as const) {
      const r = await torch.init({ preset }, 0);
      const ours = resolveModelConfig({ preset });
      expect(ours).toEqual(r.config);
    }
  }, 120_000);

  const configs: { name: string; config: Record<string, unknown>; step?: number }[] = [
    { name: 'Euclidean base', config: { hyperbolic: false, gyroconv: false, triplet: false } },
    { name: 'Euclidean + triplet', config: { hyperbolic: false, gyroconv: false, triplet: true } },
    { name: 'hyperbolic base', config: { hyperbolic: true, gyroconv: false, triplet: false } },
    { name: 'hyperbolic + gyroconv', config: { hyperbolic: true, gyroconv: true, triplet: false } },
    { name: 'hyperbolic + triplet', config: { hyperbolic: true, gyroconv: false, triplet: true } },
    { name: 'hyperbolic + gyroconv + triplet', config: { hyperbolic: true, gyroconv: true, triplet: true, samples: 2 } },
    { name: 'hyperbolic + gyroconv + triplet, IWAE bound over K = 3', config: { hyperbolic: true, gyroconv: true, triplet: true, samples: 3, iwae: true } },
    { name: 'Euclidean autoencoder (the ablation baseline)', config: { hyperbolic: false, gyroconv: false, triplet: false, autoencoder: true } },
    // the KL weight 4/10 at step 4, and a floor above the initial KL (about 0.2 nats), where the KL term has no gradient
    { name: 'full model, KL warm-up at step 4 of 10, free bits 0.5, learning-rate warm-up', config: { kl_warmup: 10, free_bits: 0.5, lr_warmup: 20 }, step: 4 },
    { name: 'full model with leaky ReLUs (slope 0.1)', config: { leaky_slope: 0.1 } },
    { name: 'Euclidean base, KL warm-up at step 3 of 4', config: { hyperbolic: false, gyroconv: false, triplet: false, kl_warmup: 4 }, step: 3 },
  ];
  for (const { name, config, step } of configs) {
    it(`${name}: every tensor within tolerance on the cpu engine`, async () => {
      const r = await runParity({ config: { preset: 'small', ...config }, engine: 'cpu', torch, batch: 3, step });
      const bad = r.rows.filter((row) => !row.ok);
      expect(bad, JSON.stringify(bad, null, 1)).toEqual([]);
      expect(r.rows.some((row) => row.tensor.startsWith('grad '))).toBe(true);
      expect(r.rows.some((row) => row.tensor.startsWith('k-means'))).toBe(true);
    }, 300_000);
  }
});

describe('parity on the wasm engine and on weights a user trained', () => {
  it('the full model on the wasm engine passes every comparison', async () => {
    const r = await runParity({ config: { preset: 'small' }, engine: 'wasm', batch: 3 });
    expect(r.engine).toBe('wasm');
    expect(r.rows.filter((row) => !row.ok)).toEqual([]);
  }, 300_000);
});

describe('one weights file, both backends', () => {
  it('weights saved by tfjs load into the torch backend and the reverse, giving the same encodings', async () => {
    const { TfjsBackend } = await import('../../src/backends/tfjs/backend.js');
    const { tempDir } = await import('../helpers/tmp.js');
    const { join } = await import('node:path');
    const dir = tempDir();
    const torchB = await TorchBackend.start({ threads: 1 });
    const tfjsB = await TfjsBackend.start({ engine: 'cpu' });
    try {
      const x = Float32Array.from({ length: 3000 }, (_, i) => Math.cos(i * 0.02));
      await tfjsB.init({ preset: 'small' }, 21);
      await tfjsB.save(join(dir, 'from-tfjs.safetensors'));
      await torchB.init({ preset: 'small' }, 0);
      await torchB.loadWeights(join(dir, 'from-tfjs.safetensors'));
      const a = (await tfjsB.encode(x, 3, 10)).mu;
      const b = (await torchB.encode(x, 3, 10)).mu;
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
      await torchB.init({ preset: 'small' }, 22);
      await torchB.save(join(dir, 'from-torch.safetensors'));
      await tfjsB.loadWeights(join(dir, 'from-torch.safetensors'));
      const c = (await torchB.encode(x, 3, 10)).mu;
      const d = (await tfjsB.encode(x, 3, 10)).mu;
      for (let i = 0; i < c.length; i++) expect(Math.abs(c[i] - d[i])).toBeLessThan(1e-5);
    } finally {
      await tfjsB.close();
      await torchB.close();
    }
  }, 180_000);
});
