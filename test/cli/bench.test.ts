import t from 'tap';
import { percentiles } from '../../src/cli/bench.js';
import { runCli } from '../helpers/cli.js';

t.test('percentiles', async (t) => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  t.same(percentiles(values), { p50: 51, p95: 96, mean: 50.5 });
  t.same(percentiles([]), { p50: 0, p95: 0, mean: 0 });
});

t.test('bench --json reports per-stage latency, fps, dropped frames and memory', async (t) => {
  const result = await runCli(['bench', '--json', '--frames', '20', '--seconds', '1', '--turns', '3']);
  t.equal(result.code, 0, result.stderr);
  const { vision } = JSON.parse(result.stdout);
  for (const stage of ['capture', 'detect', 'preprocess', 'infer', 'smooth', 'total']) {
    t.match(vision.throughput.stagesMs[stage], { p50: Number, p95: Number, mean: Number }, stage);
    t.ok(vision.throughput.stagesMs[stage].p95 >= vision.throughput.stagesMs[stage].p50);
  }
  t.equal(vision.throughput.frames, 20);
  t.ok(vision.throughput.fps > 0);
  t.match(vision.live, { seconds: 1, cameraFps: Number, visionFps: Number, droppedFrames: Number, rssMb: Number });
  t.ok(vision.live.visionFps > 0, 'frames were processed live');
  t.equal(vision.executionProvider, 'cpu');
  const { voice } = JSON.parse(result.stdout);
  t.match(voice, { services: { llmFirstTokenMs: 300, ttsFirstByteMs: 150 }, turns: 3 });
  t.ok(voice.firstAudioMs.p50 >= 450, `first audio after the services' 450 ms (${voice.firstAudioMs.p50} ms)`);
  t.ok(voice.ownOverheadMs.p50 >= 0 && voice.ownOverheadMs.p50 === Math.round((voice.firstAudioMs.p50 - 450) * 1000) / 1000, 'overhead is first audio minus the service delays');
  t.ok(voice.bargeInStopMs.p95 >= 0 && voice.bargeInStopMs.p95 <= 150, `barge-in stop ${voice.bargeInStopMs.p95} ms`);
});
