import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import type { TelemetryPayload } from '../remote/payloads.js';
import { CLI_ENTRY } from '../runtime/paths.js';
import { devTools } from './dev-tools.js';
import { lineChartsSvg } from './plot.js';
import { growthAfterWarmUp, percentiles, round, type Percentiles } from './stats.js';

export interface SoakSample {
  atS: number;
  /** From /proc, outside the daemon. */
  rssMb: number;
}

/** One telemetry message of the daemon, as received. */
export interface TelemetrySample {
  atS: number;
  heapMb: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  visionFps: number;
}

export interface SoakReport {
  minutes: number;
  warmUpMinutes: number;
  rss: { afterWarmUpMb: number; atEndMb: number; maxMb: number; growthPercent: number };
  heap: { afterWarmUpMb?: number; atEndMb?: number };
  /** Per telemetry interval, after the warm-up (model loading is not a stall of the running robot). */
  eventLoopDelayMs: { p99: Percentiles; max: Percentiles; worstMax: number };
  /** What the robot did meanwhile, as seen on the broker. */
  activity: { visionFps: Percentiles; robotSentences: number; personTurns: number; commandsSent: number; commandsOk: number; commandErrors: number; warnings: number; errors: number };
  logSample: string[];
  exit: { aliveToTheEnd: boolean; code: number | null; signal: string | null; stopMs: number };
  /** RSS growth after warm-up under 10%, the daemon alive to the end, and a clean stop. */
  passed: boolean;
  samples: SoakSample[];
  telemetry: TelemetrySample[];
}

export const RSS_GROWTH_LIMIT_PERCENT = 10;

/** The verdict: no leak (RSS growth after warm-up under the limit), alive to the end, a clean exit. */
export function soakVerdict(rss: SoakReport['rss'], exit: SoakReport['exit']): boolean {
  return exit.aliveToTheEnd && exit.code === 0 && Number.isFinite(rss.growthPercent) && rss.growthPercent < RSS_GROWTH_LIMIT_PERCENT;
}

/** Commands a remote operator might send, cycled through during the run. */
const COMMANDS: [string, object][] = [
  ['say', { text: 'Soak check: still here.' }],
  ['config/get', { section: 'vision' }],
  ['mode', { mode: 'sleep' }],
  ['mode', { mode: 'active' }],
  ['mute', {}],
  ['unmute', {}],
  ['pose', { name: 'nod' }],
];

/**
 * The real daemon in full mode for a bounded time: the demo video, the simulated board, the voice
 * against the fake OpenAI/ElevenLabs with a person talking every ~20 s through a real-time fake
 * microphone, and a real mosquitto carrying telemetry and an operator's commands. Memory is read from
 * /proc outside the daemon, the event-loop delay from its telemetry.
 */
export async function soak(options: { minutes: number; sampleSeconds: number; progress: (line: string) => void; signal?: AbortSignal }): Promise<SoakReport> {
  const [{ startFakeCloud }, { freePort, Mosquitto }, { realtimeMicrophone, spokenRecording }] = await devTools('the soak run', () =>
    Promise.all([import('../dev/fake-cloud.js'), import('../dev/local-broker.js'), import('../dev/fake-microphone.js')]),
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-soak-'));
  const cleanup: (() => unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    const cloud = await startFakeCloud({ llmFirstTokenMs: 300, ttsFirstByteMs: 150, transcript: 'How are you today?', reply: 'I am well, thank you. It is nice to see you.' });
    cleanup.push(() => cloud.close());
    const credentials = { user: 'soak', password: randomBytes(12).toString('hex') };
    const broker = new Mosquitto(await freePort(), credentials);
    cleanup.push(() => broker.stop({ remove: true }));
    await broker.start();
    const mic = path.join(dir, 'mic.raw');
    writeFileSync(mic, await spokenRecording('Hello robot, how are you today?', 2000, 16_000));
    const robotId = 'soak';
    const configFile = path.join(dir, 'config.yaml');
    writeFileSync(
      configFile,
      stringify({
        robot: { id: robotId },
        runtime: { status_interval_ms: 5000 },
        camera: { source: 'demo', loop_video: true },
        expression: { board: 'simulated' },
        voice: { mode: 'cloud', openai_base_url: cloud.openaiBaseUrl, elevenlabs_base_url: cloud.elevenlabsBaseUrl, listen: { enabled: true } },
        remote: { mqtt: { enabled: true, url: broker.url, username: credentials.user, commands: true, conversation: true } },
        web: { port: 0 },
      }),
    );
    const daemon = spawn(process.execPath, [CLI_ENTRY, 'run', '--config', configFile], {
      env: { ...process.env, OPENAI_API_KEY: 'soak', ELEVENLABS_API_KEY: 'soak', EMOBOT_MQTT_PASSWORD: credentials.password, ...realtimeMicrophone(mic, true) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    cleanup.push(() => daemon.exitCode === null && daemon.signalCode === null && daemon.kill('SIGKILL'));
    let stderr = '';
    daemon.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => daemon.on('close', (code, signal) => resolve({ code, signal })));

    const activity = { robotSentences: 0, personTurns: 0, commandsSent: 0, commandsOk: 0, commandErrors: 0, warnings: 0, errors: 0 };
    const logSample: string[] = [];
    const telemetry: TelemetrySample[] = [];
    const began = performance.now();
    const elapsedS = () => round((performance.now() - began) / 1000, 1);
    const base = `emobot/${robotId}`;
    const client = await mqtt.connectAsync(broker.url, { username: credentials.user, password: credentials.password, reconnectPeriod: 500 });
    cleanup.push(() => client.endAsync(true));
    await client.subscribeAsync(`${base}/#`);
    client.on('message', (topic, payload) => {
      const sub = topic.slice(base.length + 1);
      try {
        if (sub === 'telemetry') {
          const t = JSON.parse(payload.toString()) as TelemetryPayload;
          telemetry.push({ atS: elapsedS(), heapMb: t.heapMb, eventLoopDelayP99Ms: t.eventLoopDelayMs.p99, eventLoopDelayMaxMs: t.eventLoopDelayMs.max, visionFps: t.visionFps });
        } else if (sub === 'conversation') (JSON.parse(payload.toString()) as { role: string }).role === 'robot' ? activity.robotSentences++ : activity.personTurns++;
        else if (sub === 'log') {
          const entry = JSON.parse(payload.toString()) as { level: string; msg: string };
          entry.level === 'warn' ? activity.warnings++ : activity.errors++;
          if (logSample.length < 20) logSample.push(`${entry.level}: ${entry.msg}`);
        } else if (sub.startsWith('cmd/') && sub.endsWith('/reply')) (JSON.parse(payload.toString()) as { ok: boolean }).ok ? activity.commandsOk++ : activity.commandErrors++;
      } catch {
        // A payload that is not JSON is the daemon's bug, and shows as a missing count in the report.
      }
    });

    const samples: SoakSample[] = [];
    const endAt = began + options.minutes * 60_000;
    let nextCommand = began + 15_000;
    let commandIndex = 0;
    // An interrupted run (Ctrl-C) ends early but still stops the daemon and reports what it saw.
    while (performance.now() < endAt && daemon.exitCode === null && !options.signal?.aborted) {
      await sleep(Math.min(options.sampleSeconds * 1000, Math.max(0, endAt - performance.now())), undefined, { signal: options.signal }).catch(() => undefined);
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readProc(daemon.pid!))?.[1] ?? 0);
      if (rssKb > 0) samples.push({ atS: elapsedS(), rssMb: round(rssKb / 1024, 1) });
      if (samples.length % 6 === 0) options.progress(`${Math.round(elapsedS() / 60)} min: RSS ${samples.at(-1)?.rssMb} MB, vision ${telemetry.at(-1)?.visionFps ?? '-'} fps, ${activity.robotSentences} sentences said`);
      if (performance.now() >= nextCommand) {
        const [name, payload] = COMMANDS[commandIndex++ % COMMANDS.length]!;
        await client.publishAsync(`${base}/cmd/${name}`, JSON.stringify({ id: `soak-${commandIndex}`, ...payload }));
        activity.commandsSent++;
        nextCommand += 30_000;
      }
    }
    const aliveToTheEnd = daemon.exitCode === null;
    const minutes = round((performance.now() - began) / 60_000, 2);
    if (!aliveToTheEnd) options.progress(`the daemon exited early: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const stopping = performance.now();
    daemon.kill('SIGTERM');
    const timeout = new AbortController();
    const exit = await Promise.race([exited, sleep(15_000, { code: null, signal: 'still running 15 s after SIGTERM' }, { signal: timeout.signal }).catch(() => exited)]);
    timeout.abort();
    const stopMs = Math.round(performance.now() - stopping);

    const warmUpS = Math.min(300, (minutes * 60) / 6);
    const { afterWarmUp, atEnd, growthPercent } = growthAfterWarmUp(samples, warmUpS);
    const rss = { afterWarmUpMb: afterWarmUp?.rssMb ?? 0, atEndMb: atEnd?.rssMb ?? 0, maxMb: Math.max(0, ...samples.map((s) => s.rssMb)), growthPercent };
    const warm = telemetry.filter((x) => x.atS >= warmUpS);
    const heapAfterWarmUp = warm[0]?.heapMb;
    const heapAtEnd = telemetry.at(-1)?.heapMb;
    const exitInfo = { aliveToTheEnd, ...exit, stopMs };
    return {
      minutes,
      warmUpMinutes: round(warmUpS / 60, 2),
      rss,
      heap: { ...(heapAfterWarmUp !== undefined ? { afterWarmUpMb: heapAfterWarmUp } : {}), ...(heapAtEnd !== undefined ? { atEndMb: heapAtEnd } : {}) },
      eventLoopDelayMs: {
        p99: percentiles(warm.map((x) => x.eventLoopDelayP99Ms)),
        max: percentiles(warm.map((x) => x.eventLoopDelayMaxMs)),
        worstMax: Math.max(0, ...warm.map((x) => x.eventLoopDelayMaxMs)),
      },
      activity: { visionFps: percentiles(warm.map((x) => x.visionFps)), ...activity },
      logSample,
      exit: exitInfo,
      passed: soakVerdict(rss, exitInfo),
      samples,
      telemetry,
    };
  } finally {
    for (const step of cleanup.reverse()) await step();
  }
}

function readProc(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}

/** Memory and event-loop delay over the run. */
export function soakSvg(report: SoakReport): string {
  const minutes = (atS: number) => round(atS / 60, 2);
  const line = (name: string, color: string, points: [number, number][]) => ({ name, color, points });
  return lineChartsSvg(
    [
      {
        title: `Memory over a ${report.minutes}-minute soak (RSS growth after warm-up ${report.rss.growthPercent}%)`,
        xLabel: 'min',
        yLabel: 'MB',
        series: [line('RSS', '#4c78a8', report.samples.map((s) => [minutes(s.atS), s.rssMb])), line('JS heap', '#f58518', report.telemetry.map((x) => [minutes(x.atS), x.heapMb]))],
      },
      {
        title: 'Event-loop delay per telemetry interval',
        xLabel: 'min',
        yLabel: 'ms',
        series: [line('p99', '#54a24b', report.telemetry.map((x) => [minutes(x.atS), x.eventLoopDelayP99Ms])), line('max', '#b279a2', report.telemetry.map((x) => [minutes(x.atS), x.eventLoopDelayMaxMs]))],
      },
    ],
    'daemon in full mode: demo video, simulated board, fake cloud voice with a talking microphone, mosquitto with commands every 30 s',
  );
}
