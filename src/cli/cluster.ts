/** `hyperseg cluster`: k-means on an embedding file (.npy or .csv), Poincaré or Euclidean. */

import type { Command } from 'commander';
import { CENTROIDS, type Centroid, kmeans, type Geometry } from '../cluster/kmeans.js';
import { readEmbeddings } from '../data/embeddings.js';
import { writeFileAtomic } from '../data/atomic.js';
import { writeNpy } from '../data/npy.js';
import { HypersegError, within } from '../errors.js';
import { action, parseChoice, parseFloatOption, parseIntOption, toJson } from './run.js';

interface ClusterFlags {
  embeddings: string;
  k: number;
  geometry: Geometry;
  centroid: Centroid;
  c: number;
  factors: number;
  seed: number;
  nInit: number;
  maxIter: number;
  tol: number;
  out?: string;
  json?: boolean;
  verbose?: boolean;
}

export function registerCluster(program: Command): void {
  program
    .command('cluster')
    .description('k-means on the Poincaré ball (or Euclidean) over an N × d embedding file (.npy float32/float64, or .csv)')
    .requiredOption('--embeddings <file>', 'N × d embeddings: .npy (float32/float64) or .csv')
    .requiredOption('--k <k>', 'number of clusters', parseIntOption('--k', 1))
    .option('--geometry <g>', 'poincare | euclidean', parseChoice('--geometry', ['poincare', 'euclidean'] as const), 'poincare')
    .option('--centroid <c>', 'mean (k-means) | median (k-medians: Fréchet / Euclidean medians, inertia Σ d)', parseChoice('--centroid', CENTROIDS), 'mean')
    .option('--c <c>', 'curvature magnitude c of the ball (curvature −c)', parseFloatOption('--c', 0, true), 1)
    .option('--factors <g>', 'ball factors per row (product manifold; must divide d)', parseIntOption('--factors', 1), 1)
    .option('--seed <s>', 'random seed', parseIntOption('--seed', 0), 0)
    .option('--n-init <n>', 'k-means++ restarts (lowest inertia kept)', parseIntOption('--n-init', 1), 10)
    .option('--max-iter <n>', 'Lloyd iterations per restart', parseIntOption('--max-iter', 1), 300)
    .option('--tol <t>', 'stop when no centre moves more than this distance', parseFloatOption('--tol', 0), 1e-6)
    .option('--out <file>', 'write labels (.npy int32, or .csv/.txt one label per line)')
    .option('--json', 'machine-readable output')
    .option('--verbose', 'stack traces on error')
    .action(action(async (flags: ClusterFlags) => {
      if (flags.out !== undefined && !/\.(npy|csv|txt)$/i.test(flags.out)) {
        throw new HypersegError('INVALID_ARGUMENT', `--out must end in .npy, .csv or .txt, got '${flags.out}'`);
      }
      const emb = await readEmbeddings(flags.embeddings);
      const t0 = performance.now();
      let res: ReturnType<typeof kmeans>;
      try {
        res = kmeans(emb.data, emb.d, {
          k: flags.k, geometry: flags.geometry, centroid: flags.centroid, c: flags.c, factors: flags.factors, seed: flags.seed,
          nInit: flags.nInit, maxIter: flags.maxIter, tol: flags.tol,
        });
      } catch (e) {
        throw within(flags.embeddings, e); // "point 3 has a non-finite coordinate": of which file
      }
      const seconds = (performance.now() - t0) / 1000;
      if (flags.out !== undefined) {
        if (flags.out.toLowerCase().endsWith('.npy')) await writeNpy(flags.out, res.labels, [res.labels.length]);
        else await writeFileAtomic(flags.out, `${Array.from(res.labels).join('\n')}\n`);
      }
      const summary = {
        ok: true,
        file: flags.embeddings, n: emb.n, d: emb.d, k: res.k, geometry: res.geometry, centroid: flags.centroid, c: flags.c, factors: flags.factors,
        seed: flags.seed, nInit: flags.nInit,
        inertia: res.inertia, iterations: res.iterations, converged: res.converged, bestInit: res.bestInit,
        inertias: res.inertias, counts: res.counts,
        centroids: Array.from({ length: res.k }, (_, j) => Array.from(res.centroids.subarray(j * res.d, (j + 1) * res.d))),
        seconds, out: flags.out ?? null,
      };
      if (flags.json) {
        process.stdout.write(`${toJson(summary)}\n`);
        return;
      }
      const lines = [
        `${emb.n} points × ${emb.d} dims, k = ${res.k}, geometry ${res.geometry}${res.geometry === 'poincare' ? ` (c = ${flags.c})` : ''}${flags.centroid === 'median' ? ', k-medians' : ''}`,
        `inertia ${res.inertia.toPrecision(8)} after ${res.iterations} iterations (${res.converged ? 'converged' : 'max-iter reached'}), best of ${flags.nInit} restarts (#${res.bestInit}), ${seconds.toFixed(3)} s`,
        `cluster sizes: ${res.counts.map((c, j) => `${j}:${c}`).join('  ')}`,
      ];
      if (flags.out !== undefined) lines.push(`labels written to ${flags.out}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }));
}
