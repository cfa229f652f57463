import t from 'tap';
import { benchFrames } from '../../src/bench/frames.js';
import { replay, throughput } from '../../src/bench/vision.js';
import { demoConfig } from '../../src/config/demo.js';

t.test('throughput: every stage timed, the faces of the set classified', async (t) => {
  const config = demoConfig();
  const frames = await benchFrames(config);
  t.teardown(frames.release);
  const none = await throughput(config, frames.sets[0], 10);
  const three = await throughput(config, frames.sets[3], 10);
  t.match(three, { frames: 10, executionProvider: 'cpu', fps: Number });
  t.equal(none.facesPerFrame, 0);
  t.ok(three.facesPerFrame > 2, `${three.facesPerFrame} faces classified per frame of the 3-face set`);
  t.ok(three.stagesMs.total.mean >= three.stagesMs.detect.mean + three.stagesMs.infer.mean, 'a frame takes at least its stages');
  await t.rejects(throughput(config, [], 1), { message: 'no frames to measure' });
});

t.test('replay: the daemon at the video rate, memory sampled over the run', async (t) => {
  const result = await replay(demoConfig(), 3);
  t.match(result, { seconds: 3, droppedFrames: Number });
  t.ok(result.cameraFps > 20 && result.visionFps > 20, `${result.cameraFps} / ${result.visionFps} fps`);
  t.ok(result.stagesMs.sum.p50 >= result.stagesMs.detect.p50, 'the sum of the stages');
  t.ok(result.memory.samples.length >= 3 && result.memory.atEnd.rssMb > 50 && result.memory.atEnd.heapMb > 5, 'memory sampled');
});
