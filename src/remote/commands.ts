import { z } from 'zod';
import { ConfigError } from '../config/load.js';
import { configSections, spokenText, type Config, type ConfigSection } from '../config/schema.js';
import type { ScopedBus } from '../runtime/bus.js';
import { excerpt, failureKind } from '../runtime/errors.js';
import { robotModes, type RobotMode } from '../runtime/events.js';

export interface CommandError {
  /** The payload field at fault, dotted; empty for the payload as a whole. */
  field: string;
  message: string;
}

export type CommandReply = { id: string | null; ok: true; result: unknown } | { id: string | null; ok: false; error: CommandError };

export interface CommandContext {
  /** Who sent it ("MQTT", "web page"), for the bus events and the logs. */
  by: string;
  config: Config;
  configFile: string;
  bus: ScopedBus;
  /** The config subsystem's door for remote changes (allowlist, overlay, reload). */
  changeConfig(patch: Record<string, unknown>, by: string): { file: string; changed: ConfigSection[] };
}

const ID_MAX = 200;
const id = z.string().min(1).max(ID_MAX).optional();
/** No command needs more; a larger payload is refused unread. */
export const COMMAND_MAX_BYTES = 64 * 1024;
/** Long enough for an announcement, short enough that nobody reads a novel through the robot. */
export const SAY_MAX_LENGTH = 500;

/**
 * Every command: its payload schema and what it does. Payloads are JSON objects; `id` is echoed in the
 * reply. Everyday commands sit at cmd/<name>, the config ones at cmd/config/<name>, so a broker ACL can
 * give Home Assistant and a dashboard `cmd/+` without the config (docs/mosquitto.acl).
 */
const commands = {
  'config/get': {
    payload: z.strictObject({ id, section: z.enum(configSections).optional() }),
    run: (p: { section?: (typeof configSections)[number] }, ctx: CommandContext) => (p.section ? ctx.config[p.section] : ctx.config),
  },
  'config/set': {
    payload: z.strictObject({ id, patch: z.record(z.string(), z.unknown()).refine((p) => Object.keys(p).length > 0, 'an empty patch changes nothing') }),
    run: (p: { patch: Record<string, unknown> }, ctx: CommandContext) => ctx.changeConfig(p.patch, `${ctx.by} config/set`),
  },
  mode: {
    payload: z.strictObject({ id, mode: z.enum(robotModes) }),
    run: (p: { mode: RobotMode }, ctx: CommandContext) => {
      ctx.bus.emit('robot.control', { mode: p.mode, by: ctx.by });
      return { mode: p.mode };
    },
  },
  mute: {
    /** `muted: false` unmutes too, so a single topic can serve a switch (Home Assistant). */
    payload: z.strictObject({ id, muted: z.boolean().default(true) }),
    run: (p: { muted: boolean }, ctx: CommandContext) => {
      ctx.bus.emit('robot.control', { muted: p.muted, by: ctx.by });
      return { muted: p.muted };
    },
  },
  unmute: {
    payload: z.strictObject({ id }),
    run: (_: unknown, ctx: CommandContext) => {
      ctx.bus.emit('robot.control', { muted: false, by: ctx.by });
      return { muted: false };
    },
  },
  say: {
    payload: z.strictObject({ id, text: spokenText(SAY_MAX_LENGTH) }),
    run: (p: { text: string }, ctx: CommandContext) => {
      ctx.bus.emit('voice.say', { text: p.text, by: ctx.by });
      return { saying: p.text };
    },
  },
  snapshot: {
    payload: z.strictObject({ id, quality: z.number().int().min(10).max(100).default(80) }),
    run: (p: { quality: number }, ctx: CommandContext) => {
      // An image is the most personal thing the robot has: it leaves only where the owner allowed it.
      if (!ctx.config.remote.mqtt.snapshot) throw new CommandFailure('', 'snapshots are off (set remote.mqtt.snapshot: true to allow them)');
      ctx.bus.emit('camera.snapshot-requested', { quality: p.quality, by: ctx.by });
      return { topic: `${ctx.config.remote.mqtt.base_topic}/${ctx.config.robot.id}/snapshot`, format: 'jpeg' };
    },
  },
  pose: {
    payload: z.strictObject({ id, name: z.string().min(1).max(64) }),
    run: (p: { name: string }, ctx: CommandContext) => {
      const known = Object.keys(ctx.config.expression.poses);
      if (!known.includes(p.name)) throw new CommandFailure('name', `no pose "${p.name}" (known: ${known.join(', ')})`);
      ctx.bus.emit('expression.pose', { name: p.name, by: ctx.by });
      return { pose: p.name, holdMs: ctx.config.expression.pose_hold_ms };
    },
  },
  'config/reload': {
    payload: z.strictObject({ id }),
    run: (_: unknown, ctx: CommandContext) => {
      ctx.bus.emit('config.reload-requested', { reason: `${ctx.by} config/reload` });
      return { reloading: ctx.configFile };
    },
  },
} as const;

export type CommandName = keyof typeof commands;
/** Each command's payload schema, for the published JSON Schema document. */
export const commandPayloadSchemas: Record<string, z.ZodType> = Object.fromEntries(Object.entries(commands).map(([name, command]) => [name, command.payload]));
export const commandNames = Object.keys(commands) as CommandName[];

class CommandFailure extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** No command nests deeper; a deeper payload is refused before anything walks it. */
const MAX_DEPTH = 16;

/**
 * What is wrong with a parsed payload's shape, walked without recursion: nested deeper than any
 * command needs, or a `__proto__`, `constructor` or `prototype` key, which is never data.
 */
function shapeProblem(value: unknown): CommandError | undefined {
  const pending: [unknown, string[]][] = [[value, []]];
  while (pending.length) {
    const [node, path] = pending.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (path.length >= MAX_DEPTH) return { field: excerpt(path.slice(0, 3).join('.'), 40), message: `nested deeper than ${MAX_DEPTH} levels` };
    for (const [key, inner] of Object.entries(node)) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') return { field: excerpt([...path, key].join('.'), 120), message: 'not a valid key' };
      pending.push([inner, [...path, key]]);
    }
  }
  return undefined;
}

/**
 * Parses and runs one command, if it is one of `allowed` (a web page gets fewer than MQTT). Nothing
 * in the payload can throw past here: every problem becomes an error reply naming the field, and a
 * rejected command changes nothing.
 */
export function runCommand(name: string, payload: Buffer | string, ctx: CommandContext, allowed: readonly CommandName[] = commandNames): CommandReply {
  if (payload.length > COMMAND_MAX_BYTES) return { id: null, ok: false, error: { field: '', message: `payload over ${COMMAND_MAX_BYTES} bytes, not read` } };
  // An empty message is how MQTT clears a retained one, which reaches the robot like any message: not a command.
  if (payload.length === 0) return { id: null, ok: false, error: { field: '', message: 'empty payload: a command is a JSON object, {} at the least' } };
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString());
  } catch {
    return { id: null, ok: false, error: { field: '', message: 'payload is not JSON' } };
  }
  const shape = shapeProblem(raw);
  // Echoed even when the command is refused, so only an id the schema would take: a refusal must not carry 64 kB back.
  const given = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  const replyId = typeof given === 'string' && given.length <= ID_MAX ? given : null;
  // Own keys only: a topic like cmd/toString must not reach Object.prototype.
  const command = Object.hasOwn(commands, name) && allowed.includes(name as CommandName) ? commands[name as CommandName] : undefined;
  if (!command) return { id: replyId, ok: false, error: { field: '', message: `unknown command "${excerpt(name, 40)}" (known: ${allowed.join(', ')})` } };
  if (shape) return { id: replyId, ok: false, error: shape };
  const parsed = command.payload.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // The sender's own keys, cut short: zod's message would quote a 60 kB key once more.
    if (issue.code === 'unrecognized_keys') return { id: replyId, ok: false, error: { field: excerpt(issue.keys.join(','), 80), message: 'unknown key' } };
    return { id: replyId, ok: false, error: { field: excerpt(issue.path.join('.'), 80), message: issue.message } };
  }
  try {
    return { id: replyId, ok: true, result: (command.run as (p: unknown, c: CommandContext) => unknown)(parsed.data, ctx) };
  } catch (err) {
    if (err instanceof CommandFailure) return { id: replyId, ok: false, error: { field: err.field, message: err.message } };
    if (err instanceof ConfigError) {
      const issue = err.issues[0]!;
      return { id: replyId, ok: false, error: { field: issue.key ? `patch.${issue.key}` : 'patch', message: issue.message } };
    }
    // Anything else is the robot's own failure, whose message may quote a file: the sender learns only its kind.
    return { id: replyId, ok: false, error: { field: '', message: `the robot failed to carry it out (${failureKind(err)})` } };
  }
}
