import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CameraOpenError, openSource } from '../../src/camera/sources.js';
import { configSchema } from '../../src/config/schema.js';
import { opencv } from '../../src/runtime/opencv.js';
import { DEMO_VIDEO } from '../../src/runtime/paths.js';

t.test('a pipeline the config check refuses is refused when the camera opens too, whoever hands it over', async (t) => {
  const other = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-sources-')), 'other.mp4');
  writeFileSync(other, 'not checked, and GStreamer would read this one');
  // Not through the schema, which refuses it: as a caller would that builds the camera's settings itself.
  const camera = { ...configSchema.parse({}).camera, source: `filesrc location=${DEMO_VIDEO} location=${other} ! qtdemux ! avdec_h264 ! videoconvert ! appsink` };
  t.throws(() => openSource(camera).close(), new CameraOpenError(`GStreamer pipeline "${camera.source}"`, 'filesrc sets location twice'));
});

t.test('an image folder plays past what is not an image (a FIFO, a link out of it, text) and says so once', async (t) => {
  const cv = opencv();
  const root = mkdtempSync(path.join(tmpdir(), 'emobot-folder-'));
  const folder = path.join(root, 'frames');
  mkdirSync(folder);
  const image = (value: number) => new cv.Mat(48, 64, cv.CV_8UC3, [value, value, value]);
  // A grey file: the camera delivers three channels whatever the file holds, as `emobot look` reads it.
  cv.imwrite(path.join(folder, '01.png'), new cv.Mat(48, 64, cv.CV_8UC1, 10));
  execFileSync('mkfifo', [path.join(folder, '02.jpg')]);
  cv.imwrite(path.join(root, 'private.png'), image(200));
  symlinkSync(path.join(root, 'private.png'), path.join(folder, '03.png'));
  writeFileSync(path.join(folder, '04.png'), 'not an image\n');
  // 80 KB of PNG that decodes to 72 megapixels (216 MB as BGR): a decompression bomb, refused by its header.
  cv.imwrite(path.join(folder, '045.png'), new cv.Mat(8000, 9000, cv.CV_8UC1, 0));
  cv.imwrite(path.join(folder, '05.png'), image(50));
  const warnings: string[] = [];
  const source = openSource(configSchema.parse({ camera: { source: folder } }).camera, (message) => warnings.push(message));
  t.teardown(() => source.close());
  const grey = async () => (await source.read())?.at(0, 0) as unknown as { x: number } | undefined;
  const first = await source.read();
  t.equal(first?.channels, 3, 'a grey image comes as BGR');
  t.equal((first?.at(0, 0) as unknown as { x: number } | undefined)?.x, 10);
  t.equal((await grey())?.x, 50, 'the FIFO did not hang it; the link and the text were skipped');
  t.equal(await source.read(), undefined, 'then the folder has ended');
  t.match(warnings, [/skipped "02\.jpg": not a regular file/, /skipped "03\.png": a link/, /skipped "04\.png": not an image/, /skipped "045\.png": more than 64 megapixels/]);
  source.rewind();
  t.equal((await grey())?.x, 10, 'rewound to the first image');
  await source.read();
  t.equal(warnings.length, 4, 'each said once');

  const bad = path.join(root, 'bad');
  mkdirSync(bad);
  writeFileSync(path.join(bad, 'a.jpg'), '');
  const none = openSource(configSchema.parse({ camera: { source: bad } }).camera);
  await t.rejects(none.read(), { name: 'CameraOpenError', message: /none of its images can be read/ });
});
