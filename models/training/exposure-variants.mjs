// Writes a copy of a labelled photo set as a camera in poorer light would see it, with its own
// manifest, for `emobot eval-faces`: how much of the accuracy survives a dim room or haze.
//   node models/training/exposure-variants.mjs <manifest.csv> <out folder> <dim|dark|washed|gamma>
// dim: 0.3 of the light (1.7 stops under) and sensor noise of 3 grey levels; dark: 0.15 (2.7 stops)
// and noise of 2; washed: haze or over-exposure, contrast 0.4 around a light grey; gamma: shadows
// crushed (gamma 2.2), as on a face against a window. The noise is seeded: every run writes the same.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { opencv } from '../../dist/runtime/opencv.js';

const transforms = {
  dim: (v, noise) => v * 0.3 + noise() * 3,
  dark: (v, noise) => v * 0.15 + noise() * 2,
  washed: (v) => 140 + (v - 128) * 0.4,
  gamma: (v) => 255 * (v / 255) ** 2.2,
};
const [manifest, out, kind] = process.argv.slice(2);
if (!kind || !transforms[kind]) {
  console.error(`usage: exposure-variants.mjs <manifest.csv> <out folder> <${Object.keys(transforms).join('|')}>`);
  process.exit(2);
}
const cv = opencv();
const transform = transforms[kind];
let seed = 12345;
const uniform = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const noise = () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
mkdirSync(path.join(out, 'images'), { recursive: true });
const [header, ...rows] = readFileSync(manifest, 'utf8').trim().split('\n');
const columns = header.split(',');
const [fileAt, labelAt] = [columns.indexOf('file'), columns.indexOf('label')];
const written = ['file,label'];
for (const row of rows) {
  const fields = row.split(',');
  const image = cv.imread(path.join(path.dirname(manifest), fields[fileAt]));
  const pixels = Uint8Array.from(image.getData(), (v) => Math.max(0, Math.min(255, Math.round(transform(v, noise)))));
  // PNG: a JPEG's own artefacts would come on top of the light's.
  const name = `images/${path.basename(fields[fileAt]).replace(/\.\w+$/, '')}.png`;
  cv.imwrite(path.join(out, name), new cv.Mat(Buffer.from(pixels), image.rows, image.cols, image.type));
  written.push(`${name},${fields[labelAt]}`);
}
writeFileSync(path.join(out, 'manifest.csv'), `${written.join('\n')}\n`);
console.log(JSON.stringify({ kind, images: rows.length, manifest: path.join(out, 'manifest.csv') }));
