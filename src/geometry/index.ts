/** Poincaré-ball geometry: scalar and batched operations, Fréchet mean, stability constants. */
export * from './poincare.js';
export * from './frechet.js';
export * from './stability.js';
