/** Small shared types. Volumes are stored x fastest: index = x + nx·(y + ny·z) (NIfTI order). */

/** Voxel counts along x, y, z. */
export type Shape3 = readonly [number, number, number];
/** Voxel size along x, y, z in physical units (usually mm). */
export type Spacing3 = readonly [number, number, number];
