import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { BUILT_IN, ConfigError, loadConfigFile, patchRemoteConfig } from '../../src/config/load.js';
import { changedSections } from '../../src/config/reload.js';
import { configSchema } from '../../src/config/schema.js';
import { commandNames, runCommand } from '../../src/remote/commands.js';
import { EventBus } from '../../src/runtime/bus.js';

function context(fileText?: string) {
  const bus = new EventBus((err) => {
    throw err;
  });
  const reloads: string[] = [];
  bus.on('config.reload-requested', ({ reason }) => void reloads.push(reason));
  let configFile = BUILT_IN;
  const overlay = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-cmd-state-')), 'remote-config.yaml');
  if (fileText !== undefined) {
    configFile = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-cmd-')), 'config.yaml');
    writeFileSync(configFile, fileText);
  }
  const config = configFile === BUILT_IN ? configSchema.parse({}) : loadConfigFile(configFile).config;
  const scoped = bus.scope(() => undefined);
  // What the daemon does with a remote change (see Daemon.changeConfig).
  const changeConfig = (patch: Record<string, unknown>, by: string) => {
    if (configFile === BUILT_IN) throw new ConfigError(configFile, [{ key: '', message: 'the robot runs on built-in defaults: there is no config to change' }]);
    const next = patchRemoteConfig(configFile, overlay, patch).config;
    scoped.emit('config.reload-requested', { reason: by });
    return { file: overlay, changed: changedSections(config, next) };
  };
  return { ctx: { by: 'MQTT', config, configFile, bus: scoped, changeConfig }, reloads, configFile, overlay };
}

t.test("the robot's own failure is answered by its kind alone: its message may quote a file", async (t) => {
  const { ctx } = context('camera:\n  fps: 30\n');
  const failing = { ...ctx, changeConfig: () => {
    throw new ReferenceError('Unresolved alias (the first use of an alias must be preceded by its anchor): sk-proj-LEAK');
  } };
  const reply = runCommand('config/set', '{"id":"f1","patch":{"voice":{"llm":{"temperature":0.5}}}}', failing);
  t.same(reply, { id: 'f1', ok: false, error: { field: '', message: 'the robot failed to carry it out (ReferenceError)' } });
  // A system call's failure names its code, what an owner needs to mend it (here: the state folder's rights).
  const denied = { ...ctx, changeConfig: () => {
    throw Object.assign(new Error("EACCES: permission denied, open '/var/lib/emobot/remote-config.yaml'"), { code: 'EACCES' });
  } };
  t.same(runCommand('config/set', '{"id":"f2","patch":{"voice":{"llm":{"temperature":0.5}}}}', denied), { id: 'f2', ok: false, error: { field: '', message: 'the robot failed to carry it out (Error EACCES)' } });
  // A code that is not a system call's (any object may carry one) is not quoted.
  const odd = { ...ctx, changeConfig: () => {
    throw Object.assign(new Error('x'), { code: 'sk-proj-LEAK' });
  } };
  t.same(runCommand('config/set', '{"id":"f3","patch":{"voice":{"llm":{"temperature":0.5}}}}', odd), { id: 'f3', ok: false, error: { field: '', message: 'the robot failed to carry it out (Error)' } });
});

t.test('bad payloads get an error reply naming the field, and change nothing', async (t) => {
  const { ctx, reloads } = context('camera:\n  fps: 30\n');
  t.same(runCommand('config/get', 'not json', ctx), { id: null, ok: false, error: { field: '', message: 'payload is not JSON' } });
  t.match(runCommand('dance', '{"id":"a1"}', ctx), { id: 'a1', ok: false, error: { message: /unknown command "dance" \(known: config\/get, config\/set, mode, mute, unmute, say, snapshot, pose, config\/reload\)/ } });
  t.match(runCommand('config/get', '{"id":"a2","section":"wheels"}', ctx), { id: 'a2', ok: false, error: { field: 'section' } });
  t.match(runCommand('config/get', '{"id":"a3","colour":1}', ctx), { id: 'a3', ok: false, error: { field: 'colour' } });
  t.match(runCommand('config/set', '{"id":"a4"}', ctx), { ok: false, error: { field: 'patch' } });
  t.match(runCommand('config/set', '{"id":"a5","patch":{}}', ctx), { ok: false, error: { field: 'patch', message: 'an empty patch changes nothing' } });
  t.match(runCommand('config/reload', '[1,2]', ctx), { id: null, ok: false });
  t.match(runCommand('say', `{"text":"${'a'.repeat(70_000)}"}`, ctx), { ok: false, error: { message: /payload over 65536 bytes, not read/ } });
  t.match(runCommand('mode', `${'['.repeat(30_000)}${']'.repeat(30_000)}`, ctx), { ok: false, error: { message: /nested deeper than 16 levels/ } }, 'deep nesting is refused, not walked into a stack overflow');
  t.match(runCommand('config/set', '{"patch":{"expression":{"poses":{"__proto__":{"head_pan":1}}}}}', ctx), { ok: false, error: { field: 'patch.expression.poses.__proto__', message: 'not a valid key' } });
  t.match(runCommand('toString', '{}', ctx), { ok: false, error: { message: /unknown command "toString"/ } }, 'not a command inherited from Object');
  t.same(reloads, []);
});

t.test('a refusal quotes the sender\'s keys and id cut short: one 60 kB key must not come back twice', async (t) => {
  const { ctx } = context('camera:\n  fps: 30\n');
  const long = 'k'.repeat(60_000);
  const replies = [
    runCommand('mode', JSON.stringify({ mode: 'idle', [long]: 1 }), ctx),
    runCommand('config/set', JSON.stringify({ patch: { vision: { tracking: { [long]: 1 } } } }), ctx),
    runCommand('config/set', JSON.stringify({ patch: { expression: { poses: { [long]: { head_pan: 'left' } } } } }), ctx),
    runCommand('mode', JSON.stringify({ id: long, mode: 'party' }), ctx),
  ];
  for (const reply of replies) t.ok(JSON.stringify(reply).length < 1000, `${JSON.stringify(reply).slice(0, 160)}...`);
  t.match(replies[0], { ok: false, error: { field: /^k+\.\.\. \(60000 characters\)$/, message: 'unknown key' } });
  t.match(replies[3], { id: null, ok: false, error: { field: 'id' } }, 'an id the schema refuses is not echoed');
});

t.test('config/get returns the whole config or one section', async (t) => {
  const { ctx } = context('camera:\n  fps: 12\n');
  t.match(runCommand('config/get', '{"id":"g"}', ctx), { id: 'g', ok: true, result: { camera: { fps: 12 }, robot: { id: 'emobot' } } });
  t.same(runCommand('config/get', '{"section":"robot"}', ctx), { id: null, ok: true, result: { id: 'emobot', name: 'EmoBot' } });
});

t.test('config/set keeps an allowed, validated patch in the overlay and asks for a reload; other keys are refused by name', async (t) => {
  const owner = '# robot in the kitchen\ncamera:\n  fps: 30\n';
  const { ctx, reloads, configFile, overlay } = context(owner);
  t.same(runCommand('config/set', JSON.stringify({ id: 's1', patch: { vision: { smoothing: { margin: 0.2 } }, voice: { llm: { temperature: 0.2 } } } }), ctx), {
    id: 's1',
    ok: true,
    result: { file: overlay, changed: ['vision', 'voice'] },
  });
  t.match(readFileSync(overlay, 'utf8'), /margin: 0.2/);
  t.equal(readFileSync(configFile, 'utf8'), owner, 'the owner\'s file is never written');
  t.same(reloads, ['MQTT config/set']);
  const before = readFileSync(overlay, 'utf8');
  t.same(runCommand('config/set', JSON.stringify({ id: 's2', patch: { vision: { smoothing: { margin: 'wide' } } } }), ctx), {
    id: 's2',
    ok: false,
    error: { field: 'patch.vision.smoothing.margin', message: 'Invalid input: expected number, received string' },
  });
  t.match(runCommand('config/set', JSON.stringify({ id: 's3', patch: { camera: { fps: 10 } } }), ctx), {
    id: 's3',
    ok: false,
    error: { field: 'patch.camera.fps', message: /camera\.fps is changed in the config file only, over SSH/ },
  });
  t.equal(readFileSync(overlay, 'utf8'), before, 'a rejected patch leaves the overlay alone');
  t.same(reloads, ['MQTT config/set']);
});

t.test('config/set without a config file says so; reload asks the daemon', async (t) => {
  const { ctx, reloads } = context();
  t.match(runCommand('config/set', '{"patch":{"camera":{"fps":5}}}', ctx), { ok: false, error: { message: /built-in defaults/ } });
  t.match(runCommand('config/reload', '{"id":"r"}', ctx), { id: 'r', ok: true });
  t.same(reloads, ['MQTT config/reload']);
});

t.test('mode, mute and unmute ask the daemon through the bus', async (t) => {
  const { ctx } = context();
  const bus = ctx.bus;
  const controls: unknown[] = [];
  bus.on('robot.control', (c) => void controls.push(c));
  t.same(runCommand('mode', '{"id":"m","mode":"sleep"}', ctx), { id: 'm', ok: true, result: { mode: 'sleep' } });
  t.match(runCommand('mode', '{"mode":"party"}', ctx), { ok: false, error: { field: 'mode' } });
  t.same(runCommand('mute', '{}', ctx), { id: null, ok: true, result: { muted: true } });
  t.match(runCommand('mute', '', ctx), { ok: false, error: { message: /empty payload/ } }, 'an empty message (how MQTT clears a retained one) is no command');
  t.same(runCommand('unmute', '{}', ctx), { id: null, ok: true, result: { muted: false } });
  t.same(runCommand('mute', '{"muted":false}', ctx), { id: null, ok: true, result: { muted: false } }, 'the switch form');
  t.same(controls, [{ mode: 'sleep', by: 'MQTT' }, { muted: true, by: 'MQTT' }, { muted: false, by: 'MQTT' }, { muted: false, by: 'MQTT' }]);
});

t.test('pose asks the expression subsystem for a configured pose; an unknown one names the field', async (t) => {
  const { ctx } = context();
  const poses: unknown[] = [];
  ctx.bus.on('expression.pose', (p) => void poses.push(p));
  t.same(runCommand('pose', '{"id":"p","name":"curious"}', ctx), { id: 'p', ok: true, result: { pose: 'curious', holdMs: 3000 } });
  t.match(runCommand('pose', '{"id":"q","name":"moonwalk"}', ctx), { id: 'q', ok: false, error: { field: 'name', message: /no pose "moonwalk" \(known: rest, sleep, nod/ } });
  t.match(runCommand('pose', '{"name":""}', ctx), { ok: false, error: { field: 'name' } });
  t.same(poses, [{ name: 'curious', by: 'MQTT' }]);
});

t.test('say hands the text to the voice; empty or overlong text is refused by field', async (t) => {
  const { ctx } = context();
  const requests: unknown[] = [];
  ctx.bus.on('voice.say', (r) => void requests.push(r));
  t.same(runCommand('say', '{"id":"s","text":"  Dinner is ready!  "}', ctx), { id: 's', ok: true, result: { saying: 'Dinner is ready!' } });
  t.match(runCommand('say', '{"text":"   "}', ctx), { ok: false, error: { field: 'text' } });
  t.match(runCommand('say', JSON.stringify({ text: 'x'.repeat(501) }), ctx), { ok: false, error: { field: 'text', message: /500/ } });
  t.match(runCommand('say', '{"text": 42}', ctx), { ok: false, error: { field: 'text' } });
  for (const text of ['Hi\u0000there', 'Hi \u001b[2J', 'bell\u0007']) t.match(runCommand('say', JSON.stringify({ text }), ctx), { ok: false, error: { field: 'text', message: /no control characters/ } }, JSON.stringify(text));
  t.same(runCommand('say', JSON.stringify({ text: 'Two lines:\nfine.' }), ctx), { id: null, ok: true, result: { saying: 'Two lines:\nfine.' } }, 'a line break is no control character to refuse');
  t.same(requests, [{ text: 'Dinner is ready!', by: 'MQTT' }, { text: 'Two lines:\nfine.', by: 'MQTT' }]);
});

t.test('snapshot: refused unless the owner enabled it; then the camera is asked for one', async (t) => {
  const off = context();
  t.match(runCommand('snapshot', '{"id":"p"}', off.ctx), { id: 'p', ok: false, error: { message: /snapshots are off/ } });
  const on = context('remote:\n  mqtt:\n    snapshot: true\n');
  const requests: unknown[] = [];
  on.ctx.bus.on('camera.snapshot-requested', (r) => void requests.push(r));
  t.match(runCommand('snapshot', '{"quality": 60}', on.ctx), { ok: true, result: { topic: /\/snapshot$/, format: 'jpeg' } });
  t.match(runCommand('snapshot', '{"quality": 500}', on.ctx), { ok: false, error: { field: 'quality' } });
  t.same(requests, [{ quality: 60, by: 'MQTT' }]);
});

t.test('fuzz: any payload on any command topic gets a reply, never a throw; a rejected command changes nothing', async (t) => {
  const { ctx, configFile, overlay } = context('camera:\n  fps: 30\n');
  const events: string[] = [];
  const bus = new EventBus((err) => {
    throw err;
  });
  for (const name of ['robot.control', 'voice.say', 'expression.pose', 'camera.snapshot-requested', 'config.reload-requested'] as const) bus.on(name, () => void events.push(name));
  const scoped = { ...ctx, bus: bus.scope(() => undefined) };
  const names = fc.oneof(fc.constantFrom(...commandNames), fc.string({ maxLength: 20 }));
  const json = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.record({ id: fc.oneof(fc.string(), fc.integer()), text: fc.string(), mode: fc.string(), muted: fc.jsonValue(), name: fc.string(), section: fc.string(), quality: fc.double() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  );
  const payload = fc.oneof(json, fc.string({ unit: 'binary', maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)));
  let ok = 0;
  fc.assert(
    fc.property(names.filter((n) => n !== 'config/set'), payload, (name, body) => {
      events.length = 0;
      const reply = runCommand(name, body, scoped);
      if (typeof reply.ok !== 'boolean' || !(reply.id === null || typeof reply.id === 'string')) throw new Error(`malformed reply ${JSON.stringify(reply)}`);
      if (reply.ok) ok++;
      else if (typeof reply.error?.field !== 'string' || !reply.error.message) throw new Error(`error reply without field and message: ${JSON.stringify(reply)}`);
      else if (events.length) throw new Error(`rejected ${name} still emitted ${events.join(', ')}`);
    }),
    { numRuns: 1500, seed: 7 },
  );
  t.ok(ok > 0, `${ok} of 1500 random commands were valid and ran`);
  // config/set writes the file: random patches may only change it through the schema, never corrupt it.
  let rejectedPatches = 0;
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue().map((v) => JSON.stringify({ patch: v })), fc.string({ maxLength: 100 })), (body) => {
      const reply = runCommand('config/set', body, ctx);
      if (!reply.ok) {
        if (typeof reply.error?.field !== 'string') throw new Error(`error reply without field: ${JSON.stringify(reply)}`);
        rejectedPatches++;
      }
      const loaded = loadConfigFile(configFile, overlay); // throws if a patch left an invalid owner's file behind
      if (loaded.warnings?.length) throw new Error(`a patch left an overlay that does not apply: ${loaded.warnings.join('; ')}`);
    }),
    { numRuns: 300, seed: 8 },
  );
  t.ok(rejectedPatches > 0, `${rejectedPatches} of 300 random patches were rejected, the file stayed valid`);
});
