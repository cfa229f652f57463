import t from 'tap';
import { percentiles } from '../../src/cli/bench.js';
import { runCli } from '../helpers/cli.js';

t.test('percentiles', async (t) => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  t.same(percentiles(values), { p50: 51, p95: 96, mean: 50.5 });
  t.same(percentiles([]), { p50: 0, p95: 0, mean: 0 });
});

t.test('bench --json reports per-stage latency, fps, dropped frames and memory', async (t) => {
  const result = await runCli(['bench', '--json', '--frames', '20', '--seconds', '1']);
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
});
