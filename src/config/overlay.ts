import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Document, isMap, parseDocument } from 'yaml';
import { excerpt } from '../runtime/errors.js';
import { stateDirectory } from '../runtime/paths.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { FileProblem } from './files.js';
import { configSchema, type Config } from './schema.js';

/**
 * Remote control changes behaviour, never what the robot is connected to. These keys (dotted, or a
 * prefix ending in ".*") are what MQTT config/set may change; the owner's file widens the list with
 * `remote.editable`. Devices, files, URLs, pipelines, the model, TLS and every permission stay in
 * the file, changed over SSH; the privacy switches (the voice mode, listening on or off, attention)
 * too, but where the owner hands out their section, remote control may turn them to the private side.
 */
export const REMOTE_EDITABLE = [
  'vision.threads',
  'vision.detection.min_score',
  'vision.detection.min_face',
  'vision.detection.far_faces',
  'vision.detection.far_idle_interval_ms',
  'vision.detection.far_tiles',
  'vision.detection.max_faces',
  'vision.tracking.*',
  'vision.smoothing.*',
  'expression.follow.*',
  'expression.idle.*',
  'expression.sleep.*',
  'expression.speaking.*',
  'expression.poses.*',
  'expression.pose_hold_ms',
  'expression.reactions.*',
  'voice.llm.persona',
  'voice.llm.max_tokens',
  'voice.llm.temperature',
  'voice.llm.memory_turns',
  'voice.tts.calm_for',
  'voice.listen.language',
  'voice.listen.start_ratio',
  'voice.listen.min_speech_ms',
  'voice.listen.end_silence_ms',
  'voice.listen.preroll_ms',
  'voice.listen.max_utterance_ms',
  'voice.listen.barge_in_ratio',
  'voice.listen.barge_in',
  'voice.proactive.*',
  'voice.offline.words_per_minute',
  'voice.offline.phrases.*',
] as const;

/** Remote control's changes, kept apart from the owner's file, which the daemon cannot write. */
export function remoteOverlayFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDirectory(env), 'remote-config.yaml');
}

/**
 * Never remote, whatever `remote.editable` says (an owner widening `voice.*` for the voice's
 * settings must not also hand out its endpoint, where the API key goes): remote control must not
 * widen its own permissions (MQTT's or the web page's), nor the folders files may come from ...
 */
const PERMISSIONS = ['remote.*', 'web.*', 'runtime.allowed_folders',
  // nor hide its own traces: at fatal, a sender's refused and accepted commands would leave no line.
  'log.*'];
/** ... nor change what the robot is connected to (URLs, devices, files, pipelines, models, a real board) ... */
const CONNECTIONS = [
  // The MQTT client id and every topic: a robot moved to another robot's id takes over its connection,
  // and one moved out of its broker account's topics can no longer be told to come back.
  'robot.id',
  'voice.openai_base_url',
  'voice.elevenlabs_base_url',
  'voice.microphone',
  'voice.speaker',
  'camera.source',
  'vision.model',
  // Haar and LBP give no landmarks, and a face without them counts as facing the robot: attention would open to anyone in view.
  'vision.detection.detector',
  'expression.board',
  'expression.hardware',
  'expression.port',
  'expression.calibration',
];

interface PrivateSide {
  /** Whether remote control may set `value`, the owner's file saying `owner`. */
  allows(value: unknown, owner: unknown): boolean;
  /** What it may be set to, for the refusal. */
  said: string;
}
const exactly = (side: unknown): PrivateSide => ({ allows: (value) => value === side, said: `to ${String(side)}` });
const atMostTheOwners: PrivateSide = { allows: (value, owner) => typeof value === 'number' && typeof owner === 'number' && value <= owner, said: 'down, from the config file\'s value' };
/**
 * ... nor let more of what the robot hears go anywhere. Where the owner hands out their section
 * (`voice.*`), these may be changed remotely towards privacy only: the voice kept on the robot,
 * listening off, understanding only someone facing the robot, as squarely and as lately as the
 * owner's file asks or more so.
 */
const PRIVATE_SIDE: ReadonlyMap<string, PrivateSide> = new Map([
  ['voice.mode', exactly('offline')],
  ['voice.listen.enabled', exactly(false)],
  ['voice.listen.require_attention', exactly(true)],
  ['voice.listen.attention_max_yaw_deg', atMostTheOwners],
  ['voice.listen.attention_window_ms', atMostTheOwners],
]);
/** Remote changes are settings, not documents: a larger overlay is refused (it lives on an SD card). */
export const OVERLAY_MAX_BYTES = 64 * 1024;
/** Every key a patch names costs a check: a person changes a few at a time, not thousands. */
export const PATCH_MAX_KEYS = 256;
/** Keys that would reach Object.prototype when merged into a plain object. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

function matches(pattern: string, key: string): boolean {
  return pattern.endsWith('.*') ? key.startsWith(pattern.slice(0, -1)) : key === pattern;
}

/**
 * A pattern of the never-remote lists covers its key, the section or key itself and every key below
 * it: a patch `{runtime: {allowed_folders: {0: '/'}}}` names `runtime.allowed_folders.0`.
 */
function covers(pattern: string, key: string): boolean {
  const stem = pattern.endsWith('.*') ? pattern.slice(0, -2) : pattern;
  return key === stem || key.startsWith(`${stem}.`);
}

/** A section holding a never-remote key: `{voice: {}}` would put every key of it back to its default. */
function holds(pattern: string, key: string): boolean {
  return pattern.startsWith(`${key}.`);
}

/** Why `key` may not be set to `value` remotely under this config, or undefined when it may. */
export function remoteRefusal(key: string[], value: unknown, config: Config): string | undefined {
  if (key.some((part) => PROTOTYPE_KEYS.has(part))) return 'not a config key';
  const dotted = key.join('.');
  const named = excerpt(dotted, 80);
  if (PERMISSIONS.some((pattern) => covers(pattern, dotted))) return `${named} is changed in the config file only, over SSH: remote control cannot change its own permissions`;
  if (CONNECTIONS.some((pattern) => covers(pattern, dotted))) return `${named} is changed in the config file only, over SSH: remote control cannot change what the robot is connected to`;
  const privateSide = [...PRIVATE_SIDE].find(([switchKey]) => covers(switchKey, dotted));
  if (privateSide && (privateSide[0] !== dotted || !privateSide[1].allows(value, valueAt(config, key)))) {
    return `${named} is changed in the config file only, over SSH: remote control may only turn it ${privateSide[1].said}, never widen what the robot hears or sends`;
  }
  if ([...PERMISSIONS, ...CONNECTIONS, ...PRIVATE_SIDE.keys()].some((pattern) => holds(pattern, dotted))) {
    return `${named} cannot be set as a whole remotely: it holds keys changed in the config file only; set the keys below it one by one`;
  }
  const allowed = [...REMOTE_EDITABLE, ...config.remote.editable].some((pattern) => matches(pattern, dotted));
  return allowed ? undefined : `${named} is changed in the config file only, over SSH (remote control may change: ${REMOTE_EDITABLE.join(', ')}, and what remote.editable adds)`;
}

/**
 * Why remote control may not drop its changes at these keys: only a key's name can be wrong. A key the
 * schema does not know (a dotted name, `{"voice.mode": null}`) is refused rather than reported done
 * with nothing dropped. One validation for all of them, however many a patch names.
 */
function dropRefusals(keys: string[][], owner: Config): ConfigIssue[] {
  const named = (key: string[]) => key.map((k) => excerpt(k, 40)).join('.');
  const prototypes = keys.filter((key) => key.some((part) => PROTOTYPE_KEYS.has(part)));
  if (prototypes.length) return prototypes.map((key) => ({ key: named(key), message: 'not a config key' }));
  const probe = structuredClone(owner) as Record<string, unknown>;
  for (const key of keys) setIn(probe, key, null);
  const unknown = new Set(
    (configSchema.safeParse(probe).error?.issues ?? []).flatMap((issue) => (issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k].join('\0')) : [])),
  );
  // The key itself or a section above it: {"voice.listen": {enabled: null}} names no key either.
  return keys
    .filter((key) => key.some((_, i) => unknown.has(key.slice(0, i + 1).join('\0'))))
    .map((key) => ({ key: named(key), message: `${excerpt(key.join('.'), 80)} is not a config key (name a key by its sections: {voice: {mode: null}})` }));
}

/** The overlay without `key` and what is below it; sections left empty go too. */
function without(overlay: Record<string, unknown>, key: string[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [leafKey, value] of leaves(overlay)) {
    if (!key.every((part, i) => leafKey[i] === part)) setIn(kept, leafKey, value);
  }
  return kept;
}

/** The config's value at a key (undefined where there is none). */
function valueAt(config: Config, key: string[]): unknown {
  let node: unknown = config;
  for (const part of key) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  return node;
}

/** Every leaf of a patch with its key: {camera: {fps: 10}} -> [[['camera', 'fps'], 10]]. Arrays are leaves. */
export function leaves(patch: Record<string, unknown>, prefix: string[] = []): [string[], unknown][] {
  return Object.entries(patch).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0
      ? leaves(value as Record<string, unknown>, [...prefix, key])
      : [[[...prefix, key], value] as [string[], unknown]],
  );
}

/** A plain-object copy with `value` set at `key` (never touching prototypes: keys were checked). */
function setIn(target: Record<string, unknown>, key: string[], value: unknown): void {
  let node = target;
  for (const part of key.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[key.at(-1)!] = value;
}

export interface Overlaid {
  config: Config;
  /** Dotted keys whose value comes from the remote overlay. */
  overlaid: string[];
  /** Why parts of the overlay were not applied (the owner's file took the key back, or it no longer validates). */
  warnings: string[];
}

/** The overlay as a YAML document (empty when there is none yet); unreadable or broken is an error. */
function readOverlayDocument(file: string): Document {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new Document({});
    // The state folder is the daemon's: an owner checking as themselves must be told, not shown "none".
    throw new Error(`cannot read ${file} (${code}${code === 'EACCES' ? ': run as root or as the emobot user' : ''})`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length || !isMap(doc.contents)) throw new Error(`${file} is not a YAML mapping`);
  return doc;
}

function readOverlay(file: string): Record<string, unknown> {
  const doc = readOverlayDocument(file);
  try {
    return (doc.toJS() ?? {}) as Record<string, unknown>;
  } catch {
    // Aliases are resolved only here (one with no anchor, too many of them), and the error quotes the text after `*`.
    throw new Error(`${file} cannot be read as YAML (an alias with no anchor, or too many aliases)`);
  }
}

/**
 * The owner's config with the remote overlay on top: only keys remote control may change under the
 * owner's file, and only if the result still validates. Anything else in the overlay is left out, with
 * a warning saying why. The overlay edits effective values: a pose added remotely joins the others.
 */
export function applyOverlay(owner: Config, overlayFile: string, check: (config: Config) => FileProblem[]): Overlaid {
  let overlay: Record<string, unknown>;
  try {
    overlay = readOverlay(overlayFile);
  } catch (err) {
    return { config: owner, overlaid: [], warnings: [`remote overlay ignored: ${(err as Error).message}`] };
  }
  const applicable: [string[], unknown][] = [];
  const warnings: string[] = [];
  for (const [key, value] of leaves(overlay)) {
    const refusal = remoteRefusal(key, value, owner);
    if (refusal) warnings.push(`remote overlay ${overlayFile}: ${excerpt(key.join('.'), 80)} left out: ${refusal}`);
    else applicable.push([key, value]);
  }
  if (applicable.length === 0) return { config: owner, overlaid: [], warnings };
  const merged = mergeValid(owner, applicable, check, () => false);
  if (Array.isArray(merged)) {
    const [first] = merged;
    return { config: owner, overlaid: [], warnings: [...warnings, `remote overlay ${overlayFile} ignored: ${first!.key}: ${first!.message}`] };
  }
  for (const { key, message } of merged.leftOut) warnings.push(`remote overlay ${overlayFile}: ${excerpt(key.join('.'), 80)} left out: it no longer validates with the config file (${message})`);
  return { config: merged.config, overlaid: merged.kept.map(([key]) => key.join('.')), warnings };
}

interface Issue {
  path: string[];
  message: string;
}

/** The merged settings as a config, or what is wrong with them, by key (all of it: see mergeValid). */
function issuesOf(merged: Record<string, unknown>, check: (config: Config) => FileProblem[]): Config | Issue[] {
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    return result.error.issues.map((issue) => ({
      path: [...issue.path, ...(issue.code === 'unrecognized_keys' ? [issue.keys[0]!] : [])].map(String),
      message: issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message,
    }));
  }
  const problems = check(result.data);
  return problems.length ? problems.map((p) => ({ path: p.key.map(String), message: p.message })) : result.data;
}

/** Whether a leaf and an issue concern the same setting: one lies at or below the other. */
const related = (leaf: string[], issue: string[]) => leaf.every((part, i) => i >= issue.length || issue[i] === part);

/**
 * The owner's config with these overlay leaves on top. A leaf an issue points at is left out and the
 * rest tried again: an edit of the owner's file can make one old remote value invalid (one pose too
 * many), and it must not take every other remote change with it, the privacy switches turned
 * remotely among them. `fixed` leaves (a patch's own) are never left out: an issue that touches
 * one, or that no leaf accounts for, is the answer, cut short, since keys of a remote patch are the
 * sender's.
 */
function mergeValid(
  owner: Config,
  overlayLeaves: [string[], unknown][],
  check: (config: Config) => FileProblem[],
  fixed: (key: string[]) => boolean,
): { config: Config; kept: [string[], unknown][]; leftOut: { key: string[]; message: string }[] } | ConfigIssue[] {
  let kept = overlayLeaves;
  const leftOut: { key: string[]; message: string }[] = [];
  for (;;) {
    const merged = structuredClone(owner) as Record<string, unknown>;
    for (const [key, value] of kept) setIn(merged, key, value);
    const result = issuesOf(merged, check);
    if (!Array.isArray(result)) return { config: result, kept, leftOut };
    const concerns = (issue: Issue, own: boolean) => kept.some(([key]) => fixed(key) === own && related(key, issue.path));
    // An issue that touches a fixed leaf is the patch's own; one that touches no old leaf, the owner's file's.
    const answer = result.filter((issue) => concerns(issue, true) || !concerns(issue, false));
    if (answer.length > 0) return [...answer, ...result.filter((issue) => !answer.includes(issue))].slice(0, 5).map((issue) => ({ key: excerpt(issue.path.join('.'), 80), message: issue.message }));
    const blamed = (key: string[]) => result.find((issue) => related(key, issue.path));
    const stale = kept.filter(([key]) => !fixed(key) && blamed(key));
    for (const [key] of stale) leftOut.push({ key, message: blamed(key)!.message });
    kept = kept.filter((leaf) => !stale.includes(leaf));
  }
}

/**
 * Applies a remote patch: every key must be remotely changeable and the result valid, or nothing is
 * written (a ConfigError names the first key at fault). A key set to null drops remote control's
 * change there (a section: all of them below it), so the owner's file decides again; this is how a
 * privacy switch turned remotely, such as `voice.mode: offline`, is turned back. The overlay is written to a temporary file and
 * renamed, so a reader never sees half of it. The owner's file is never touched.
 */
export function patchOverlay(
  owner: Config,
  overlayFile: string,
  patch: Record<string, unknown>,
  check: (config: Config) => FileProblem[],
): Overlaid {
  const patchLeaves = leaves(patch);
  if (patchLeaves.length > PATCH_MAX_KEYS) {
    throw new ConfigError(overlayFile, [{ key: '', message: `a remote change names at most ${PATCH_MAX_KEYS} keys (this one ${patchLeaves.length}); make larger changes in the config file` }]);
  }
  const refused: ConfigIssue[] = patchLeaves.flatMap(([key, value]) => {
    if (value === null) return [];
    const refusal = remoteRefusal(key, value, owner);
    return refusal ? [{ key: key.map((k) => excerpt(k, 40)).join('.'), message: refusal }] : [];
  });
  // null drops remote control's own change, back to the owner's file: never further than the file.
  refused.push(...dropRefusals(patchLeaves.filter(([, value]) => value === null).map(([key]) => key), owner));
  if (refused.length) throw new ConfigError(overlayFile, refused);
  // Only what still applies is kept: keys the owner took back, values an edit of the owner's file made
  // invalid, or a broken overlay (each left out at load, with a warning) go when the overlay is next written.
  let previous: [string[], unknown][] = [];
  try {
    previous = leaves(readOverlay(overlayFile)).filter(([key, value]) => !remoteRefusal(key, value, owner));
  } catch {
    previous = [];
  }
  let kept: Record<string, unknown> = {};
  for (const [key, value] of previous) setIn(kept, key, value);
  for (const [key, value] of patchLeaves) {
    if (value === null) kept = without(kept, key);
    else setIn(kept, key, value);
  }
  const own = patchLeaves.filter(([, value]) => value !== null).map(([key]) => key);
  const merged = mergeValid(owner, leaves(kept), check, (key) => own.some((patched) => related(key, patched)));
  if (Array.isArray(merged)) throw new ConfigError(overlayFile, merged);
  const { config } = merged;
  kept = {};
  for (const [key, value] of merged.kept) setIn(kept, key, value);
  mkdirSync(path.dirname(overlayFile), { recursive: true, mode: 0o750 });
  const temp = `${overlayFile}.${process.pid}.tmp`;
  const doc = new Document(kept);
  doc.commentBefore = " Made by remote control (MQTT config/set), over the owner's config file.\n Drop one with config/set {key: null}, or delete the file and reload (systemctl reload emobot) to drop them all.";
  const text = doc.toString();
  if (Buffer.byteLength(text) > OVERLAY_MAX_BYTES) throw new ConfigError(overlayFile, [{ key: '', message: `remote changes would exceed ${OVERLAY_MAX_BYTES} bytes; make larger changes in the config file` }]);
  writeFileSync(temp, text, { mode: 0o640 });
  renameSync(temp, overlayFile);
  // What was just validated is what a load of the file would give: no need to read it back.
  return { config, overlaid: merged.kept.map(([key]) => key.join('.')), warnings: merged.leftOut.map(({ key, message }) => `${excerpt(key.join('.'), 80)} dropped from the remote changes: it no longer validates with the config file (${message})`) };
}
