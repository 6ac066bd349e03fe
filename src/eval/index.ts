/** Evaluation: Hungarian matching, Dice/IoU, surface distances (HD, HD95, ASSD), exact EDT. */
export * from './edt.js';
export * from './evaluate.js';
export * from './hungarian.js';
export * from './overlap.js';
export * from './surface.js';
