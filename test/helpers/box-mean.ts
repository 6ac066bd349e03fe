/** The box mean by its definition, literally: the average of every in-volume voxel of each voxel's (2r + 1)³ box. */
export function naiveBoxMean(data: ArrayLike<number>, [nx, ny, nz]: readonly [number, number, number], r: number): Float64Array {
  const out = new Float64Array(data.length);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    let s = 0;
    let c = 0;
    for (let k = Math.max(0, z - r); k <= Math.min(nz - 1, z + r); k++) for (let j = Math.max(0, y - r); j <= Math.min(ny - 1, y + r); j++) for (let i = Math.max(0, x - r); i <= Math.min(nx - 1, x + r); i++) {
      s += data[i + nx * (j + ny * k)];
      c++;
    }
    out[x + nx * (y + ny * z)] = s / c;
  }
  return out;
}
