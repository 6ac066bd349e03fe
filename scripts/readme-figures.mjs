// Regenerates the pictures shown in README.md (docs/*.png) from the library: run after `npm run build`.
//   node scripts/readme-figures.mjs
import { phantomCase, renderSynthPreview, synthVolume } from '../dist/index.js';
import { Canvas, axialSlice } from '../dist/report/canvas.js';

const vols = [synthVolume(0, 0, 50, false), synthVolume(1, 0, 50, false), synthVolume(0, 0, 50, true), synthVolume(1, 0, 50, true)];
await renderSynthPreview(vols).save('docs/synth-preview.png');

const p = phantomCase(0, 0);
let zt = 0;
let best = -1;
for (let z = 0; z < p.shape[2]; z++) {
  let c = 0;
  for (let i = z * 57600; i < (z + 1) * 57600; i++) if (p.seg[i]) c++;
  if (c > best) [best, zt] = [c, z];
}
const cv = new Canvas(2 * 244 + 4, 244);
const slice = axialSlice(p.flair, p.shape, zt);
cv.grey(slice, 240, 240, 2, 2, 1, 0, 900);
cv.grey(slice, 240, 240, 246, 2, 1, 0, 900);
cv.labels(axialSlice(p.seg, p.shape, zt), 240, 240, 246, 2, 1, 0.5);
await cv.save('docs/brats-phantom.png');
console.log('wrote docs/synth-preview.png and docs/brats-phantom.png');
