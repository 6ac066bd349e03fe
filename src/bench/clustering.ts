/**
 * Clustering benchmark: hyperbolic k-means (src/cluster/kmeans.ts) against the naive baseline
 * (naive-kmeans.ts), on the same points from the same k-means++ centres, in the same run.
 *
 * Figures: seconds per k-means iteration (assignment + Fréchet-mean update) for both, their ratio,
 * the inertia each reaches after the same iterations (must agree within 1%), and the wall time of
 * a full n_init-restart fit with ours. The paper's published clustering code needs about 1.2 s per
 * iteration for 12,500 points on a 2-core machine (≈ 12 s for 125,000, linear in N); that figure is
 * quoted, not measured here, and the ratio against it is labelled as such.
 */

import { kmeans, lloyd, prepareKMeans, seedCentres } from '../cluster/kmeans.js';
import { ballMixture } from './ball-mixture.js';
import { naiveInertia, naiveIteration, toPoints } from './naive-kmeans.js';

export interface ClusteringBenchOptions {
  n?: number;
  k?: number;
  d?: number;
  nInit?: number;
  seed?: number;
  /** Iterations timed for each implementation (default 5). */
  iterations?: number;
}

export interface ClusteringBenchResult {
  n: number;
  d: number;
  k: number;
  nInit: number;
  seed: number;
  iterationsTimed: number;
  ours: { secondsPerIteration: number; inertia: number };
  naive: { secondsPerIteration: number; inertia: number };
  speedupPerIteration: number;
  inertiaRelativeDifference: number;
  fullFit: { seconds: number; restarts: number; inertia: number; iterationsOfBest: number; converged: boolean };
  paperReference: { secondsPerIterationAt12500: number; extrapolatedSecondsPerIteration: number; speedup: number; note: string };
}

export function benchClustering(options: ClusteringBenchOptions = {}): ClusteringBenchResult {
  const n = options.n ?? 125_000;
  const k = options.k ?? 8;
  const d = options.d ?? 2;
  const nInit = options.nInit ?? 10;
  const seed = options.seed ?? 0;
  const iters = options.iterations ?? 5;
  const { points } = ballMixture(n, k, d, seed);

  // Same starting centres for both; tol = 0 so that ours runs exactly `iters` iterations, each
  // solving the Fréchet means to tolerance as the naive baseline does (frechetSteps 0).
  const problem = prepareKMeans(points, d, { k, seed, maxIter: iters, tol: 0, frechetSteps: 0 });
  const start = seedCentres(problem, seed, 0);

  const t0 = performance.now();
  const ours = lloyd(problem, Float64Array.from(start));
  const oursSeconds = (performance.now() - t0) / 1000;

  const pts = toPoints(points, d);
  let centres = toPoints(start, d);
  let labels: number[] = [];
  const t1 = performance.now();
  for (let it = 0; it < ours.iterations; it++) {
    const step = naiveIteration(pts, centres, 1);
    centres = step.centres;
    labels = step.labels;
  }
  const naiveSeconds = (performance.now() - t1) / 1000;
  // The naive loop's last step updated the centres after assigning; score the final assignment
  // against the final centres, exactly as `lloyd` reports its inertia.
  labels = naiveIteration(pts, centres, 1).labels;
  const naiveFinal = naiveInertia(pts, labels, centres, 1);

  const t2 = performance.now();
  const full = kmeans(points, d, { k, seed, nInit });
  const fullSeconds = (performance.now() - t2) / 1000;

  const oursPer = oursSeconds / ours.iterations;
  const naivePer = naiveSeconds / ours.iterations;
  const paperPer = 1.2 * (n / 12_500);
  return {
    n, d, k, nInit, seed,
    iterationsTimed: ours.iterations,
    ours: { secondsPerIteration: oursPer, inertia: ours.inertia },
    naive: { secondsPerIteration: naivePer, inertia: naiveFinal },
    speedupPerIteration: naivePer / oursPer,
    inertiaRelativeDifference: Math.abs(ours.inertia - naiveFinal) / naiveFinal,
    fullFit: { seconds: fullSeconds, restarts: nInit, inertia: full.inertia, iterationsOfBest: full.iterations, converged: full.converged },
    paperReference: {
      secondsPerIterationAt12500: 1.2,
      extrapolatedSecondsPerIteration: paperPer,
      speedup: paperPer / oursPer,
      note: 'quoted figure for the published clustering code on a 2-core machine, scaled linearly in N; not measured in this run',
    },
  };
}
