import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import { ConfigError, findConfigFile, formatIssue, loadConfigFile, type LoadedConfig } from '../config/load.js';
import { configSchema, type Config } from '../config/schema.js';
import { readSecrets, SECRET_ENV_VARS } from '../config/secrets.js';
import { describeSource, openSource } from '../camera/sources.js';
import { asError } from '../runtime/errors.js';
import { resolveAsset } from '../runtime/paths.js';
import { loadCalibration } from '../expression/calibration.js';
import { checkConfigAgainstProfile } from '../expression/expression.js';
import { boardDevice, loadHardwareProfile, type HardwareProfile } from '../expression/profile.js';
import { EmotionClassifier } from '../vision/classifier.js';
import { createDetector } from '../vision/detector.js';
import { executionProviders } from '../vision/execution-providers.js';
import { isLoopbackBind, servingProblem } from '../web/access.js';
import { CommandRecognizer } from '../voice/commands.js';

const run = promisify(execFile);

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn/fail, in one line. */
  fix?: string;
}

type Probe = (config: Config) => Promise<Check | Check[]>;

const probes: Probe[] = [checkCamera, checkDetector, checkModel, checkBoard, checkAudio, checkApiKeys, checkBroker, checkWebPage];

export async function doctorCommand(options: { configPath?: string; json: boolean }): Promise<number> {
  const { loaded, check } = loadForDoctor(options.configPath);
  const checks: Check[] = [check];
  for (const probe of probes) {
    try {
      checks.push(...[await probe(loaded.config)].flat());
    } catch (err) {
      checks.push({ name: probe.name.replace(/^check/, '').toLowerCase(), status: 'fail', detail: asError(err).message });
    }
  }
  process.stdout.write(options.json ? `${JSON.stringify({ checks }, null, 2)}\n` : formatTable(checks));
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

function loadForDoctor(configPath: string | undefined): { loaded: LoadedConfig; check: Check } {
  const file = findConfigFile(configPath);
  try {
    const loaded = loadConfigFile(file);
    return { loaded, check: { name: 'config', status: 'ok', detail: loaded.file } };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return {
      loaded: { config: configSchema.parse({}), file: err.file },
      check: {
        name: 'config',
        status: 'fail',
        detail: err.issues.map((i) => formatIssue(err.file, i)).join('; '),
        fix: `fix the file (emobot config check ${err.file}); the other checks below use the defaults`,
      },
    };
  }
}

async function checkCamera(config: Config): Promise<Check> {
  const { device } = describeSource(config.camera.source);
  try {
    const source = openSource(config.camera);
    try {
      const frame = await source.read();
      if (!frame) return { name: 'camera', status: 'fail', detail: `${device} opened but has no frames`, fix: 'check the file or device' };
      const detail = `${device}: ${frame.cols}x${frame.rows}`;
      frame.release();
      return { name: 'camera', status: 'ok', detail };
    } finally {
      source.close();
    }
  } catch (err) {
    return {
      name: 'camera',
      status: 'fail',
      detail: asError(err).message,
      fix: 'plug the camera in; `v4l2-ctl --list-devices` lists them; the emobot user must be in group video',
    };
  }
}

async function checkDetector(config: Config): Promise<Check> {
  try {
    const detector = await createDetector(config.vision.detection);
    const { files, package: pkg, version } = detector.source;
    await detector.release();
    return { name: 'detector', status: 'ok', detail: `${detector.name}: ${files.join(', then ')} (${pkg} ${version})` };
  } catch (err) {
    return {
      name: 'detector',
      status: 'fail',
      detail: asError(err).message.split('\n')[0]!,
      fix: 'reinstall EmoBot (the BlazeFace models are in models/blazeface/ of the install folder), or set vision.detection.detector to haar',
    };
  }
}

/**
 * The model, loaded once as the robot loads it, and the execution provider it runs on: what this
 * onnxruntime-node really has here, and whether the configured provider is among it.
 */
async function checkModel(config: Config): Promise<Check[]> {
  const model = resolveAsset(config.vision.model);
  const fix = 'build it (models/training/README.md) or set vision.model to an .onnx that has a model card (.json) beside it';
  const provider = (detail: string): Check => ({ name: 'execution provider', status: 'warn', detail: `${installedProviders()}; ${detail}`, fix: 'see the model check' });
  if (!existsSync(model)) return [{ name: 'model', status: 'fail', detail: `${model} not found`, fix }, provider('no model to run')];
  let classifier: EmotionClassifier;
  try {
    classifier = await EmotionClassifier.load(model, { executionProvider: config.vision.execution_provider, threads: 1 });
  } catch (err) {
    return [{ name: 'model', status: 'fail', detail: asError(err).message.split('\n')[0]!, fix }, provider('the model does not load')];
  }
  const { width, height, channels } = classifier.card.input;
  const { executionProvider: runs, fallbackReason } = classifier;
  await classifier.release();
  const modelCheck: Check = { name: 'model', status: 'ok', detail: `${model}: ${classifier.labels.length} labels, ${width}x${height}x${channels} input` };
  if (!fallbackReason) return [modelCheck, { name: 'execution provider', status: 'ok', detail: `runs on ${runs}; ${installedProviders()}` }];
  return [
    modelCheck,
    {
      name: 'execution provider',
      status: 'warn',
      detail: `vision.execution_provider ${config.vision.execution_provider} unavailable (${fallbackReason}), runs on ${runs}; ${installedProviders()}`,
      fix: 'set vision.execution_provider: cpu, or install the provider (README, "Execution providers")',
    },
  ];
}

/** "this onnxruntime-node has: ..." with the providers it can try here, and those it cannot. */
function installedProviders(): string {
  const providers = executionProviders();
  const installed = providers.filter((p) => p.installed).map((p) => (p.name === 'cpu' ? p.name : `${p.name} (${p.detail})`));
  const missing = providers.filter((p) => !p.installed).map((p) => p.name);
  return `this onnxruntime-node has: ${installed.join(', ')}${missing.length ? `; not installed: ${missing.join(', ')}` : ''}`;
}

async function checkBoard(config: Config): Promise<Check> {
  const { expression } = config;
  let profile: HardwareProfile;
  try {
    profile = loadHardwareProfile(expression.hardware);
    checkConfigAgainstProfile(expression, profile);
    loadCalibration(expression.calibration && resolveAsset(expression.calibration), profile);
  } catch (err) {
    return { name: 'board', status: 'fail', detail: asError(err).message.split('\n').slice(0, 2).join(' '), fix: 'see hardware/README.md and calibration/README.md' };
  }
  if (expression.board === 'simulated') return { name: 'board', status: 'ok', detail: `simulated ${profile.name} (prints what the servos and LEDs would do)` };
  const device = boardDevice(profile, expression.port);
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
    return { name: 'board', status: 'ok', detail: `${profile.name}: ${device} is accessible` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const group = profile.io.type === 'firmata' ? 'dialout' : 'i2c';
    const plug = profile.io.type === 'firmata' ? 'plug in the board (`ls /dev/ttyUSB* /dev/ttyACM*`)' : 'enable I2C (raspi-config, or the Jetson pin-mux) and check `i2cdetect -l`';
    return {
      name: 'board',
      status: 'fail',
      detail: `${device}: ${code === 'ENOENT' ? 'no such device' : 'no permission'}`,
      fix: code === 'ENOENT' ? plug : `add the emobot user to group ${group}`,
    };
  }
}

/** Opens each configured ALSA device for a fraction of a second: the only test that really tells. */
async function checkAudio(config: Config): Promise<Check[]> {
  const probe = async (name: string, tool: 'arecord' | 'aplay', device: string, args: string[]): Promise<Check> => {
    try {
      await run(tool, ['-q', '-D', device, '-f', 'S16_LE', '-r', '16000', '-c', '1', ...args], { timeout: 3000 });
      return { name, status: 'ok', detail: `ALSA "${device}"` };
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') return { name, status: 'fail', detail: `${tool} not installed`, fix: 'sudo bash scripts/setup.sh (installs alsa-utils)' };
      return {
        name,
        status: 'fail',
        detail: `ALSA "${device}": ${(e.stderr ?? e.message).trim().split('\n').at(-1)}`,
        fix: `list devices with \`${tool} -L\` and set voice.${name === 'microphone' ? 'microphone' : 'speaker'}; the user must be in group audio`,
      };
    }
  };
  const checks = await Promise.all([
    probe('microphone', 'arecord', config.voice.microphone, ['-s', '1600', '/dev/null']),
    probe('speaker', 'aplay', config.voice.speaker, ['-s', '1600', '/dev/zero']),
  ]);
  try {
    await run('espeak-ng', ['--version'], { timeout: 3000 });
    checks.push({ name: 'offline voice', status: 'ok', detail: 'espeak-ng' });
  } catch {
    checks.push({ name: 'offline voice', status: 'fail', detail: 'espeak-ng not installed', fix: 'sudo bash scripts/setup.sh' });
  }
  checks.push(await checkSpokenCommands(config));
  return checks;
}

/** The recogniser is built as the daemon builds it: pocketsphinx there, and every pose sayable. */
async function checkSpokenCommands(config: Config): Promise<Check> {
  const name = 'spoken commands';
  const { listen } = config.voice;
  if (!listen.enabled) return { name, status: 'ok', detail: 'off (voice.listen.enabled is false)' };
  if (!listen.commands) return { name, status: 'ok', detail: 'off (voice.listen.commands is false)' };
  let recognizer: CommandRecognizer;
  let suppressorProblem: string | undefined;
  try {
    recognizer = await CommandRecognizer.load(Object.keys(config.expression.poses), listen.command_noise_suppression, (message) => (suppressorProblem = message));
  } catch (err) {
    return { name, status: 'warn', detail: asError(err).message, fix: 'sudo bash scripts/setup.sh' };
  }
  recognizer.release();
  const suppression = !listen.command_noise_suppression ? 'no noise suppression' : suppressorProblem ? 'no noise suppression (RNNoise did not load)' : 'noise suppression: held notes, then RNNoise';
  const unsayable = recognizer.unspeakable.map(({ pose, why }) => `expression.poses.${pose} (${why})`).join(', ');
  const detail = `pocketsphinx, ${suppression}: ${recognizer.commands.map((c) => c.phrases[0]).join(', ')}${unsayable ? `; poses that cannot be said: ${unsayable}` : ''}`;
  const fixes = [...(suppressorProblem ? ['npm ci (the @echogarden/rnnoise-wasm package)'] : []), ...(unsayable ? ['name such poses with other English words, e.g. look_up'] : [])];
  return fixes.length ? { name, status: 'warn', detail, fix: fixes.join('; ') } : { name, status: 'ok', detail };
}

async function checkApiKeys(config: Config): Promise<Check[]> {
  const secrets = readSecrets();
  const needed = config.voice.mode === 'cloud';
  return (['openaiApiKey', 'elevenlabsApiKey'] as const).map((key) => {
    const variable = SECRET_ENV_VARS[key];
    if (secrets[key]) return { name: variable, status: 'ok', detail: 'set' };
    return needed
      ? { name: variable, status: 'warn', detail: 'not set: the robot answers with its offline voice', fix: `put ${variable}=... in /etc/emobot/secrets.env` }
      : { name: variable, status: 'ok', detail: 'not needed (voice.mode is offline)' };
  });
}

async function checkBroker(config: Config): Promise<Check> {
  const { mqtt } = config.remote;
  if (!mqtt.enabled) return { name: 'mqtt broker', status: 'ok', detail: 'disabled (remote.mqtt.enabled: false)' };
  const url = new URL(mqtt.url);
  const port = Number(url.port) || (url.protocol === 'mqtts:' || url.protocol === 'ssl:' ? 8883 : url.protocol === 'wss:' ? 443 : url.protocol === 'ws:' ? 80 : 1883);
  const reachable = await new Promise<string | undefined>((resolve) => {
    const socket = net.connect({ host: url.hostname, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timed out after 2 s');
    });
    socket.once('error', (err) => resolve(err.message));
  });
  return reachable === undefined
    ? { name: 'mqtt broker', status: 'ok', detail: `${url.hostname}:${port} reachable` }
    : { name: 'mqtt broker', status: 'fail', detail: `${url.hostname}:${port}: ${reachable}`, fix: 'check remote.mqtt.url and that the broker runs; the robot works without it' };
}

/** The settings and the token only: the running daemon itself holds the port while doctor looks. */
async function checkWebPage(config: Config): Promise<Check> {
  const { web } = config;
  if (!web.enabled) return { name: 'web page', status: 'ok', detail: 'disabled (web.enabled: false)' };
  const problem = servingProblem(web.host, readSecrets().webToken);
  if (problem) return { name: 'web page', status: 'fail', detail: problem, fix: 'put EMOBOT_WEB_TOKEN=$(openssl rand -hex 16) in /etc/emobot/secrets.env, or serve the page on 127.0.0.1 only' };
  const where = `port ${web.port === 0 ? 'any free one' : web.port} on ${web.host}`;
  return { name: 'web page', status: 'ok', detail: isLoopbackBind(web.host) ? `${where}: on this robot only` : `${where}: open to the network, signing in with EMOBOT_WEB_TOKEN` };
}

export function formatTable(checks: Check[]): string {
  const mark: Record<CheckStatus, string> = { ok: 'OK', warn: 'WARN', fail: 'FAIL' };
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.flatMap((c) => [
    `${mark[c.status].padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}`,
    ...(c.fix ? [`${' '.repeat(6 + width)}  -> ${c.fix}`] : []),
  ]);
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push('', failed ? `${failed} problem(s) found` : 'everything needed is in place');
  return `${lines.join('\n')}\n`;
}
