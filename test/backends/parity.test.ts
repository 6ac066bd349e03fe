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

  const configs = [
    { name: 'Euclidean base', config: { hyperbolic: false, gyroconv: false, triplet: false } },
    { name: 'Euclidean + triplet', config: { hyperbolic: false, gyroconv: false, triplet: true } },
    { name: 'hyperbolic base', config: { hyperbolic: true, gyroconv: false, triplet: false } },
    { name: 'hyperbolic + gyroconv', config: { hyperbolic: true, gyroconv: true, triplet: false } },
    { name: 'hyperbolic + triplet', config: { hyperbolic: true, gyroconv: false, triplet: true } },
    { name: 'hyperbolic + gyroconv + triplet', config: { hyperbolic: true, gyroconv: true, triplet: true, samples: 2 } },
  ];
  for (const { name, config } of configs) {
    it(`${name}: every tensor within tolerance on the cpu engine`, async () => {
      const r = await runParity({ config: { preset: 'small', ...config }, engine: 'cpu', torch, batch: 3 });
      const bad = r.rows.filter((row) => !row.ok);
      expect(bad, JSON.stringify(bad, null, 1)).toEqual([]);
      expect(r.rows.some((row) => row.tensor.startsWith('grad '))).toBe(true);
      expect(r.rows.some((row) => row.tensor.startsWith('k-means'))).toBe(true);
    }, 300_000);
  }
});
