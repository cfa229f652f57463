/**
 * Remote control must not be a way in. The real daemon (`emobot run`, a separate process, commands on)
 * and a real mosquitto; a broker user with command rights tries every way in that was found: devices
 * that run programs, module paths, files that are not configs, servers of its choosing, a camera
 * pipeline that streams the images away, the owner's privacy and permission switches, traversal and
 * prototype keys, a 5 MB payload (which the broker drops) and a burst of 200 commands. Afterwards the daemon must still answer,
 * have run nothing, written nothing and leaked nothing; the keys remote control may change still work.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { stringify } from 'yaml';
import { alsaFileDevices } from '../helpers/alsa.js';
import { startCli } from '../helpers/cli.js';
import { MQTT_PASSWORD, MQTT_USER, startMosquitto } from '../helpers/mosquitto.js';
import { watch } from '../helpers/mqtt-watch.js';

t.setTimeout(180_000);

const ID = 'attacked-bot';
const topic = (sub: string) => `emobot/${ID}/${sub}`;
const SECRETS = { OPENAI_API_KEY: 'sk-attack-openai-0123456789abcdef', ELEVENLABS_API_KEY: 'xi-attack-eleven-fedcba9876543210' };

t.test('a broker user with command rights cannot get in, and the daemon keeps answering', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-attacks-'));
  const state = path.join(dir, 'state');
  const marker = path.join(dir, 'pwned');
  const evilModule = path.join(dir, 'evil.cjs');
  writeFileSync(evilModule, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); module.exports = () => ({ cmd: 'true', args: [] });`);
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const alsa = alsaFileDevices(dir);
  const configFile = path.join(dir, 'config.yaml');
  const ownerText = stringify({
    robot: { id: ID },
    runtime: { status_interval_ms: 500 },
    camera: { source: 'demo', fps: 5 },
    voice: { mode: 'offline', listen: { enabled: false }, proactive: { enabled: false } },
    web: { port: 0, camera: false },
    // The owner widens remote control to some device and file keys, so that the checks behind the
    // allowlist (device names, pipelines, folders) are attacked too, not only the allowlist; and to
    // web.host, which remote control can never change, whatever the file says.
    remote: {
      mqtt: { enabled: true, url: broker.url, username: MQTT_USER, commands: true },
      editable: ['voice.speaker', 'voice.microphone', 'camera.source', 'vision.model', 'expression.hardware', 'expression.calibration', 'web.host'],
    },
  });
  writeFileSync(configFile, ownerText);
  const dashboard = await watch(broker.url, `emobot/${ID}/#`);
  t.teardown(dashboard.close);
  const daemon = startCli(['run', '--config', configFile], { ...alsa.env, ...SECRETS, EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD, EMOBOT_STATE_DIR: state });
  t.teardown(() => daemon.child.kill('SIGKILL'));
  await dashboard.until('online', () => dashboard.on(topic('status')).at(-1)?.payload === 'online', 30_000);

  const attacker = await mqtt.connectAsync(broker.url, { username: MQTT_USER, password: MQTT_PASSWORD });
  t.teardown(() => attacker.endAsync(true));
  const replies = (name: string) => dashboard.on(topic(`cmd/${name}/reply`)).map((m) => JSON.parse(m.payload) as { id: string | null; ok: boolean; error?: { field: string; message: string }; result?: unknown });
  let sent = 0;
  let lastConfigCommand = 0;
  /** Sends one command and waits for its reply (matched by id); config ones a second apart, their rate limit. */
  const command = async (name: string, payload: Record<string, unknown> | string) => {
    if (name.startsWith('config/')) {
      await new Promise((r) => setTimeout(r, Math.max(0, lastConfigCommand + 1100 - Date.now())));
      lastConfigCommand = Date.now();
    }
    const id = `a${++sent}`;
    const body = typeof payload === 'string' ? payload.replace('"ID"', `"${id}"`) : JSON.stringify({ id, ...payload });
    await attacker.publishAsync(topic(`cmd/${name}`), body, { qos: 1 });
    await dashboard.until(`the reply to ${id}`, () => replies(name).some((r) => r.id === id), 10_000);
    return replies(name).find((r) => r.id === id)!;
  };

  const attacks: [string, Record<string, unknown> | string][] = [
    ['voice.speaker', { voice: { speaker: `file:FILE="|touch ${marker}"` } }],
    ['voice.microphone', { voice: { microphone: `file:FILE="|touch ${marker}"` } }],
    ['voice.listen.recorder', { voice: { listen: { recorder: evilModule } } }],
    ['expression.hardware', { expression: { hardware: '/proc/self/environ' } }],
    ['expression.calibration', { expression: { calibration: '/proc/self/environ' } }],
    ['vision.model', { vision: { model: '../../../../../proc/self/environ' } }],
    ['voice.openai_base_url', { voice: { openai_base_url: 'http://127.0.0.1:9/v1' } }],
    ['voice.elevenlabs_base_url', { voice: { elevenlabs_base_url: 'http://127.0.0.1:9' } }],
    ['remote.mqtt.url', { remote: { mqtt: { url: 'mqtt://127.0.0.1:9' } } }],
    ['remote.mqtt.tls.reject_unauthorized', { remote: { mqtt: { tls: { reject_unauthorized: false } } } }],
    ['camera.source', { camera: { source: `v4l2src ! tee name=t ! queue ! appsink t. ! queue ! filesink location=${marker}` } }],
    ['remote.mqtt.snapshot', { remote: { mqtt: { snapshot: true } } }],
    ['remote.mqtt.conversation', { remote: { mqtt: { conversation: true } } }],
    ['remote.mqtt.commands', { remote: { mqtt: { commands: false } } }],
    ['remote.editable', { remote: { editable: ['voice.*'] } }],
    ['web.host', { web: { host: '0.0.0.0' } }],
    ['web.camera', { web: { camera: true, conversation: true } }],
    ['voice.mode', { voice: { mode: 'cloud' } }],
    ['voice.listen.enabled', { voice: { listen: { enabled: true } } }],
    ['voice.listen.require_attention', { voice: { listen: { require_attention: false } } }],
    ['expression.poses.__proto__', '{"id":"ID","patch":{"expression":{"poses":{"__proto__":{"head_pan":1}}}}}'],
    ['__proto__', '{"id":"ID","patch":{"__proto__":{"polluted":true}}}'],
    ['expression.poses.wave.tail', { expression: { poses: { wave: { tail: 30 } } } }],
    ['runtime.allowed_folders', { runtime: { allowed_folders: ['/'] } }],
    ['voice.microphone', { voice: { microphone: 'pipe:cat' } }],
    ['camera.source', { camera: { source: 'v4l2src device=/dev/sda ! appsink' } }],
  ];
  for (const [key, patch] of attacks) {
    const reply = await command('config/set', typeof patch === 'string' ? patch : { patch });
    t.equal(reply.ok, false, `${key} refused`);
    t.match(reply.error?.field, `patch.${key}`, `the reply names ${key}`);
  }
  // Wrong types at keys remote control may change are refused by name too.
  for (const [key, patch] of [
    ['expression.pose_hold_ms', { expression: { pose_hold_ms: 'forever' } }],
    ['vision.smoothing.margin', { vision: { smoothing: { margin: [1] } } }],
    ['voice.llm.persona', { voice: { llm: { persona: 42 } } }],
  ] as const) {
    const reply = await command('config/set', { patch });
    t.match(reply, { ok: false, error: { field: `patch.${key}` } }, `${key} with a wrong type`);
  }

  await attacker.publishAsync(topic('cmd/mode'), `${'['.repeat(30_000)}${']'.repeat(30_000)}`, { qos: 1 });
  await dashboard.until('the refusal of a deep payload', () => replies('mode').some((r) => /nested deeper than 16 levels/.test(r.error?.message ?? '')), 10_000);
  t.pass('a payload nested 30,000 deep is refused, and the daemon does not overflow its stack');
  // A sender's text that happens to be a secret: it may come back to the sender, but no log line carries it.
  const secretKey = await command('config/set', { patch: { [SECRETS.OPENAI_API_KEY]: 1 } });
  t.match(secretKey, { ok: false });
  // Dropped by the broker: connecting with MQTT 5, the robot told it the largest message it takes, so
  // the 5 MB never reach (nor fill) the robot, and no reply comes; the command after it is answered.
  await attacker.publishAsync(topic('cmd/say'), `{"id":"big","text":"${'x'.repeat(5 * 1024 * 1024)}"}`, { qos: 1 });
  t.match(await command('mode', { mode: 'idle' }), { ok: true }, 'the command after 5 MB is answered');
  t.notOk(replies('say').some((r) => r.id === 'big' || /payload over/.test(r.error?.message ?? '')), 'the 5 MB payload never reached the robot');

  const flood = dashboard.messages.length;
  await Promise.all(Array.from({ length: 200 }, (_, i) => attacker.publishAsync(topic('cmd/mode'), JSON.stringify({ id: `f${i}`, mode: i % 2 ? 'sleep' : 'active' }), { qos: 0 })));
  const floodReplies = () => dashboard.messages.slice(flood).filter((m) => m.topic === topic('cmd/mode/reply')).map((m) => JSON.parse(m.payload) as { id: string | null; ok: boolean; error?: { message: string } });
  await dashboard.until('the flood refused', () => floodReplies().some((r) => !r.ok && /too many commands/.test(r.error!.message)), 20_000);
  // The owner's config commands have their own count: a flood of everyday ones does not lock them out.
  t.match(await command('config/get', {}), { ok: true }, 'config/get answered at once after the flood');
  const obeyed = floodReplies().filter((r) => r.ok).length;
  t.ok(obeyed <= 25, `the burst was cut short: ${obeyed} of 200 obeyed`);
  t.ok(floodReplies().length <= obeyed + 3, `refused ones get one reply a second, not one each: ${floodReplies().length} replies`);

  // Nothing ran, nothing was written, nothing leaked; the daemon still answers.
  await new Promise((r) => setTimeout(r, 2500)); // the rate limit refills
  t.match(await command('mode', { mode: 'active' }), { ok: true }, 'still answers commands');
  t.match(await command('say', { text: 'Still here.' }), { ok: true });
  const allowed = await command('config/set', { patch: { vision: { smoothing: { margin: 0.25 } }, expression: { poses: { wave: { head_pan: 20 } } } } });
  t.match(allowed, { ok: true, result: { file: path.join(state, 'remote-config.yaml') } }, 'behaviour keys still change remotely');
  await dashboard.until('the change applied', () => /restarted for the new config/.test(daemon.output().stdout), 20_000);
  const config = (await command('config/get', {})).result as { vision: { smoothing: { margin: number } }; expression: { poses: Record<string, unknown> } };
  t.equal(config.vision.smoothing.margin, 0.25);
  t.ok(config.expression.poses.wave && config.expression.poses.rest, 'the new pose joins the others');
  t.match(await command('pose', { name: 'wave' }), { ok: true });

  t.equal(daemon.child.exitCode, null, 'the daemon is alive');
  t.notOk(existsSync(marker), 'no attack ran a program, loaded a module or wrote a file');
  t.equal(readFileSync(configFile, 'utf8'), ownerText, 'the owner\'s file is untouched');
  t.notMatch(readFileSync(path.join(state, 'remote-config.yaml'), 'utf8'), /speaker|microphone|recorder|hardware|calibration|model|url|tls|source|snapshot|conversation|commands|editable|mode|enabled|proto|web|host/, 'the overlay holds allowed keys only');
  // Commands and their replies are the sender's own traffic; everything else the robot published or logged must not carry a secret.
  const everything = [...dashboard.messages.filter((m) => !m.topic.includes('/cmd/')).map((m) => m.payload), daemon.output().stdout, daemon.output().stderr].join('\n');
  t.ok(dashboard.on(topic('log')).some((m) => m.payload.includes('[redacted]')), 'the refusal naming the secret was logged, blanked');
  for (const [name, secret] of Object.entries({ ...SECRETS, EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD })) t.notOk(everything.includes(secret), `${name} appears in no message and no log line`);
  t.notMatch(everything, /OPENAI_API_KEY=|ELEVENLABS_API_KEY=/, 'no environment was quoted');

  daemon.child.kill('SIGTERM');
  t.equal((await daemon.done).code, 0, 'and stops cleanly');
});
