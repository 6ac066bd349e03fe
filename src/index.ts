/** hyperseg library API: the same pieces the CLI uses. */
export * from './errors.js';
export * from './random.js';
export * from './geometry/index.js';
export { kmeans, inertiaOf, type Geometry, type KMeansOptions, type KMeansResult } from './cluster/kmeans.js';
export * from './eval/index.js';
export * from './data/nifti.js';
export * from './data/npy.js';
export * from './data/embeddings.js';
export { writeFileAtomic } from './data/atomic.js';
export * from './sampling/index.js';
export * from './data/synth.js';
export * from './data/dataset.js';
export * from './data/brats.js';
export type { Shape3, Spacing3 } from './types.js';
export * from './protocol/codec.js';
export * from './backends/index.js';
