import { z } from 'zod';
import { robotModes } from '../runtime/events.js';
import { commandPayloadSchemas } from './commands.js';

/**
 * What the robot publishes on each topic, as schemas: remote.ts builds its payloads with these types,
 * docs/mqtt-payloads.schema.json is generated from them (a test keeps the two equal), and consumers
 * can validate against the same file.
 */
const epochMs = z.number().int().describe('milliseconds since the Unix epoch');
const probability = z.number().min(0).max(1);
const box = z.strictObject({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }).describe('pixels in the camera frame');

export const statusPayload = z.enum(['online', 'offline']).describe('plain text, retained; "offline" is also the last will');

export const statePayload = z
  .strictObject({
    emotion: z.strictObject({ label: z.string(), confidence: probability, since: epochMs }).nullable().describe("the attended person's smoothed emotion; null with nobody in view"),
    faces: z.number().int().min(0),
    attendedTrackId: z.number().int().nullable().describe('the track id of the person the robot attends to'),
    mode: z.enum(robotModes),
    muted: z.boolean(),
    activity: z.enum(['following', 'idle', 'asleep', 'posing', 'resting']).nullable().describe("what the head does; null before the expression subsystem reports"),
    speaking: z.boolean(),
    subsystems: z.record(z.string(), z.enum(['starting', 'running', 'stopping', 'stopped', 'crashed', 'disabled'])),
    model: z.string().nullable().describe('emotion model file; null until vision has started'),
    executionProvider: z.string().nullable().describe('onnxruntime execution provider the model runs on'),
    detector: z
      .strictObject({ name: z.string(), files: z.array(z.string()).min(1).describe('model files, in the order they search a frame'), package: z.string(), version: z.string() })
      .nullable()
      .describe('face detector, its model files and where that comes from (npm package and version; OpenCV for the cascades); null until vision has started'),
    startedAt: epochMs.describe('when the daemon started (uptime is in telemetry)'),
    version: z.string(),
  })
  .describe('retained JSON, republished when it changes');

export const emotionPayload = z
  .strictObject({
    trackId: z.number().int(),
    attended: z.boolean(),
    label: z.string(),
    confidence: probability,
    probabilities: z.record(z.string(), probability),
    box,
    since: epochMs,
    at: epochMs,
  })
  .describe("one per change of a person's smoothed emotion");

export const telemetryPayload = z
  .strictObject({
    at: epochMs,
    uptimeS: z.number().int().min(0),
    cameraFps: z.number().min(0),
    visionFps: z.number().min(0),
    droppedFrames: z.number().int().min(0),
    rssMb: z.number().int().min(0),
    heapMb: z.number().int().min(0),
    eventLoopDelayMs: z
      .strictObject({ p99: z.number().min(0), max: z.number().min(0) })
      .describe('how late timers ran since the previous telemetry: a blocked event loop means a robot reacting late'),
    cpuPercent: z.number().min(0).max(100).optional(),
    cpuTemperatureC: z.number().optional(),
    throttled: z.strictObject({ now: z.boolean(), underVoltage: z.boolean(), sinceBoot: z.boolean(), raw: z.string() }).optional().describe('Raspberry Pi firmware flags'),
  })
  .describe('every runtime.status_interval_ms; host figures only where the machine exposes them');

export const logPayload = z
  .strictObject({ level: z.enum(['warn', 'error', 'fatal']), time: z.string(), msg: z.string(), subsystem: z.string().optional() })
  .describe('one per logged warning or error, secrets redacted');

export const conversationPayload = z
  .union([
    z.strictObject({
      role: z.literal('robot'),
      text: z.string(),
      source: z.enum(['cloud', 'offline']).describe('which voice made it'),
      trigger: z.enum(['emotion', 'say', 'reply']).describe('why the robot spoke'),
      at: epochMs,
    }),
    z.strictObject({ role: z.literal('person'), text: z.string().describe('speech-to-text of one utterance'), at: epochMs }),
  ])
  .describe('one per sentence the robot says and per utterance it hears; only with remote.mqtt.conversation: true (personal data)');

export const commandReplyPayload = z
  .union([
    z.strictObject({ id: z.string().nullable(), ok: z.literal(true), result: z.unknown() }),
    z.strictObject({ id: z.string().nullable(), ok: z.literal(false), error: z.strictObject({ field: z.string().describe('dotted path of the payload field at fault; empty for the whole payload'), message: z.string() }) }),
  ])
  .describe('on <base>/<id>/cmd/<name>/reply, echoing the id of the command');

export type StatePayload = z.output<typeof statePayload>;
export type EmotionPayload = z.output<typeof emotionPayload>;
export type TelemetryPayload = z.output<typeof telemetryPayload>;
export type ConversationPayload = z.output<typeof conversationPayload>;

/** The JSON Schema document for every topic (published and command), keyed by topic under <base>/<id>/. */
export function mqttPayloadSchemas(): Record<string, unknown> {
  const published = { status: statusPayload, state: statePayload, emotion: emotionPayload, telemetry: telemetryPayload, log: logPayload, conversation: conversationPayload, 'cmd/<name>/reply': commandReplyPayload };
  const topics: Record<string, unknown> = {};
  for (const [topic, schema] of Object.entries(published)) topics[topic] = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
  topics.snapshot = { description: 'binary JPEG of one camera frame, after a snapshot command; only with remote.mqtt.snapshot: true', contentMediaType: 'image/jpeg' };
  for (const [name, schema] of Object.entries(commandPayloadSchemas)) topics[`cmd/${name}`] = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return { $comment: 'EmoBot MQTT payloads, generated from src/remote/payloads.ts and src/remote/commands.ts', topics };
}
