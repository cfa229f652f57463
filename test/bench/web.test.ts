import t from 'tap';
import { benchWeb } from '../../src/bench/web.js';
import { demoConfig } from '../../src/config/demo.js';

t.setTimeout(120_000);

t.test('the web bench: nothing encoded with no page open, pictures for each of three pages, and the page script size', async (t) => {
  const report = await benchWeb(demoConfig(), 3);
  t.equal(report.none.pages, 0);
  t.equal(report.none.encodedFrames, 0, 'no page open: no frame encoded');
  t.equal(report.none.perPage, undefined);
  t.ok(report.none.visionFps > 0, `vision ran (${report.none.visionFps} fps)`);
  t.equal(report.three.pages, 3);
  t.ok(report.three.encodedFrames > 0, `${report.three.encodedFrames} frames encoded for three pages`);
  t.ok(report.three.perPage!.images > 0 && report.three.perPage!.images <= report.three.encodedFrames, 'each page got pictures, one encoding shared by all');
  t.ok(report.three.perPage!.faceMessages > 0, 'and faces');
  t.ok(report.visionFpsRatio > 0, `vision fps ratio ${report.visionFpsRatio}`);
  t.ok(report.pageScriptBytes > 1000 && report.pageScriptBytes < 100 * 1024, `${report.pageScriptBytes} bytes of page script`);
});
