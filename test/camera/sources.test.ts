import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CameraOpenError, openSource } from '../../src/camera/sources.js';
import { configSchema } from '../../src/config/schema.js';
import { DEMO_VIDEO } from '../../src/runtime/paths.js';

t.test('a pipeline the config check refuses is refused when the camera opens too, whoever hands it over', async (t) => {
  const other = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-sources-')), 'other.mp4');
  writeFileSync(other, 'not checked, and GStreamer would read this one');
  // Not through the schema, which refuses it: as a caller would that builds the camera's settings itself.
  const camera = { ...configSchema.parse({}).camera, source: `filesrc location=${DEMO_VIDEO} location=${other} ! qtdemux ! avdec_h264 ! videoconvert ! appsink` };
  t.throws(() => openSource(camera).close(), new CameraOpenError(`GStreamer pipeline "${camera.source}"`, 'filesrc sets location twice'));
});
