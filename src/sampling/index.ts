/** Sampling: the resampling convention, multi-scale triplets, per-voxel inference patches. */
export * from './patches.js';
export * from './resample.js';
export * from './triplets.js';
