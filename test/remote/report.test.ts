import t from 'tap';
import { EventBus } from '../../src/runtime/bus.js';
import type { RobotState } from '../../src/runtime/events.js';
import type { StatusSnapshot } from '../../src/runtime/status.js';
import { RobotReport } from '../../src/remote/report.js';
import type { StatePayload, TelemetryPayload } from '../../src/remote/payloads.js';

function setup() {
  const bus = new EventBus((err) => {
    throw err;
  });
  let robot: RobotState = { mode: 'active', muted: false };
  const states: StatePayload[] = [];
  const telemetry: TelemetryPayload[] = [];
  const report = new RobotReport(bus.scope(() => undefined), () => robot, { state: (s) => void states.push(s), telemetry: (m) => void telemetry.push(m) });
  t.teardown(() => report.stop());
  const status = (faces: number): { summary: string; snapshot: StatusSnapshot } => ({ summary: 'x', snapshot: { uptimeS: 7, fps: 30, visionFps: 29, frames: 210, droppedFrames: 2, faces, subsystems: { vision: 'running' } } });
  return { bus, states, telemetry, report, status, setRobot: (r: RobotState) => (robot = r) };
}

t.test('state: the attended person, mode, activity and model, sent only when it changed', async (t) => {
  const s = setup();
  s.bus.emit('emotion', { trackId: 4, attended: true, label: 'happy', confidence: 0.81234, probabilities: {}, box: { x: 0, y: 0, width: 1, height: 1 }, since: 1000, at: 1000 });
  s.bus.emit('emotion', { trackId: 5, attended: false, label: 'sad', confidence: 0.9, probabilities: {}, box: { x: 0, y: 0, width: 1, height: 1 }, since: 1000, at: 1000 });
  s.bus.emit('runtime.status', s.status(2));
  s.bus.emit('runtime.status', s.status(2));
  t.equal(s.states.length, 1, 'the same state twice: sent once');
  t.match(s.states[0], { emotion: { label: 'happy', confidence: 0.812, since: 1000 }, faces: 2, attendedTrackId: 4, mode: 'active', subsystems: { vision: 'running' }, model: null });
  s.setRobot({ mode: 'sleep', muted: true });
  s.bus.emit('robot.state', { mode: 'sleep', muted: true });
  s.bus.emit('expression.state', { activity: 'asleep', board: 'sim' });
  s.bus.emit('voice.speaking', { speaking: true, at: 1 });
  s.bus.emit('vision.ready', { model: 'models/m.onnx', executionProvider: 'cpu', detector: { name: 'blazeface', files: ['f.onnx'], package: 'p', version: '1' } });
  t.match(s.states.at(-1), { mode: 'sleep', muted: true, activity: 'asleep', speaking: true, model: 'models/m.onnx', executionProvider: 'cpu', detector: { name: 'blazeface' } });
  s.bus.emit('runtime.status', s.status(0));
  t.match(s.states.at(-1), { emotion: null, faces: 0, attendedTrackId: null }, 'nobody in view: no emotion');
  t.same(s.report.state(), s.states.at(-1));
});

t.test('telemetry: one per status, with the process and host figures', async (t) => {
  const s = setup();
  s.bus.emit('runtime.status', s.status(1));
  s.bus.emit('runtime.status', s.status(1));
  t.equal(s.telemetry.length, 2);
  t.match(s.telemetry[1], { uptimeS: 7, cameraFps: 30, visionFps: 29, droppedFrames: 2, rssMb: Number, heapMb: Number, eventLoopDelayMs: { p99: Number } });
});
