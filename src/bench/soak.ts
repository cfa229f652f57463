import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { configSchema } from '../config/schema.js';
import { freePort, Mosquitto, MQTT_PASSWORD, MQTT_USER } from '../remote/local-broker.js';
import type { TelemetryPayload } from '../remote/payloads.js';
import { packageRoot } from '../runtime/paths.js';
import { startFakeCloud } from '../voice/fake-cloud.js';
import { EspeakSynthesizer } from '../voice/synthesizer.js';
import { lineChartsSvg } from './plot.js';
import { round } from './stats.js';

export interface SoakSample {
  atS: number;
  /** From /proc, outside the daemon. */
  rssMb: number;
  /** From the daemon's own telemetry. */
  heapMb?: number;
  eventLoopDelayP99Ms?: number;
  eventLoopDelayMaxMs?: number;
}

export interface SoakReport {
  minutes: number;
  warmUpMinutes: number;
  rss: { afterWarmUpMb: number; atEndMb: number; maxMb: number; growthPercent: number };
  heap: { afterWarmUpMb?: number; atEndMb?: number };
  eventLoopDelayMs: { p99Worst: number; maxWorst: number; p99Median: number };
  /** What the robot did meanwhile, as seen on the broker. */
  activity: { visionFpsMedian: number; robotSentences: number; personTurns: number; commandsSent: number; commandsOk: number; commandErrors: number; warnings: number; errors: number };
  logSample: string[];
  exit: { code: number | null; signal: string | null; stopMs: number };
  /** The bar: RSS growth after warm-up under 10%, the daemon alive to the end and stopping cleanly. */
  passed: boolean;
  samples: SoakSample[];
}

const RSS_GROWTH_LIMIT_PERCENT = 10;

/** Commands a remote operator might send, cycled through during the run. */
const COMMANDS: [string, object][] = [
  ['say', { text: 'Soak check: still here.' }],
  ['config/get', { section: 'vision' }],
  ['mode', { mode: 'sleep' }],
  ['mode', { mode: 'active' }],
  ['mute', {}],
  ['unmute', {}],
  ['pose', { name: 'nod' }],
  ['say', { text: '' }], // invalid on purpose: must be an error reply, not a crash
];

/**
 * The real daemon in full mode for a bounded time: the demo video, the simulated board, the voice
 * against the fake OpenAI/ElevenLabs with a person talking every few seconds through a real-time fake
 * microphone, and a real mosquitto carrying telemetry and an operator's commands. Memory is read from
 * /proc outside the daemon and the event-loop delay from its telemetry.
 */
export async function soak(options: { minutes: number; sampleSeconds: number; progress: (line: string) => void }): Promise<SoakReport> {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-soak-'));
  const cloud = await startFakeCloud({ llmFirstTokenMs: 300, ttsFirstByteMs: 150, transcript: 'How are you today?', reply: 'I am well, thank you. It is nice to see you.' });
  const broker = new Mosquitto(await freePort());
  await broker.start();
  const robotId = 'soak';
  try {
    const mic = path.join(dir, 'mic.raw');
    const speech: Buffer[] = [];
    for await (const c of new EspeakSynthesizer(configSchema.parse({}).voice, 16_000).synthesize('Hello robot, how are you today?', new AbortController().signal)) speech.push(c);
    // A question every ~20 s: enough silence between for the robot to answer.
    writeFileSync(mic, Buffer.concat([Buffer.alloc(2000 * 32), ...speech, Buffer.alloc(16_000 * 32)]));
    const configFile = path.join(dir, 'config.yaml');
    writeFileSync(
      configFile,
      stringify({
        robot: { id: robotId },
        runtime: { status_interval_ms: 5000 },
        camera: { source: 'demo', loop_video: true },
        expression: { board: 'simulated' },
        voice: {
          mode: 'cloud',
          openai_base_url: cloud.openaiBaseUrl,
          elevenlabs_base_url: cloud.elevenlabsBaseUrl,
          microphone: mic,
          listen: { enabled: true, recorder: path.join(packageRoot, 'scripts', 'realtime-mic.cjs') },
        },
        remote: { mqtt: { enabled: true, url: broker.url, username: MQTT_USER, commands: true, conversation: true } },
      }),
    );
    const daemon = spawn(process.execPath, [path.join(packageRoot, 'dist', 'cli', 'main.js'), 'run', '--config', configFile], {
      env: { ...process.env, OPENAI_API_KEY: 'soak', ELEVENLABS_API_KEY: 'soak', EMOBOT_MQTT_PASSWORD: MQTT_PASSWORD, EMOBOT_MIC_LOOP: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    daemon.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => daemon.on('close', (code, signal) => resolve({ code, signal })));

    const activity = { robotSentences: 0, personTurns: 0, commandsSent: 0, commandsOk: 0, commandErrors: 0, warnings: 0, errors: 0 };
    const logSample: string[] = [];
    const telemetry: { atS: number; t: TelemetryPayload }[] = [];
    const began = performance.now();
    const elapsedS = () => round((performance.now() - began) / 1000, 1);
    const base = `emobot/${robotId}`;
    const client = await mqtt.connectAsync(broker.url, { username: MQTT_USER, password: MQTT_PASSWORD, reconnectPeriod: 500 });
    await client.subscribeAsync(`${base}/#`);
    client.on('message', (topic, payload) => {
      const sub = topic.slice(base.length + 1);
      try {
        if (sub === 'telemetry') telemetry.push({ atS: elapsedS(), t: JSON.parse(payload.toString()) as TelemetryPayload });
        else if (sub === 'conversation') (JSON.parse(payload.toString()) as { role: string }).role === 'robot' ? activity.robotSentences++ : activity.personTurns++;
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
    while (performance.now() < endAt && daemon.exitCode === null) {
      await new Promise((r) => setTimeout(r, Math.min(options.sampleSeconds * 1000, Math.max(0, endAt - performance.now()))));
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readProc(daemon.pid!))?.[1] ?? 0);
      const latest = telemetry.at(-1)?.t;
      samples.push({
        atS: elapsedS(),
        rssMb: round(rssKb / 1024, 1),
        ...(latest ? { heapMb: latest.heapMb, eventLoopDelayP99Ms: latest.eventLoopDelayMs.p99, eventLoopDelayMaxMs: latest.eventLoopDelayMs.max } : {}),
      });
      if (samples.length % 6 === 0) options.progress(`${Math.round(elapsedS() / 60)} min: RSS ${samples.at(-1)!.rssMb} MB, vision ${latest?.visionFps ?? '-'} fps, ${activity.robotSentences} sentences said`);
      if (performance.now() >= nextCommand) {
        const [name, payload] = COMMANDS[commandIndex++ % COMMANDS.length]!;
        await client.publishAsync(`${base}/cmd/${name}`, JSON.stringify({ id: `soak-${commandIndex}`, ...payload }));
        activity.commandsSent++;
        nextCommand += 30_000;
      }
    }
    const aliveToTheEnd = daemon.exitCode === null;
    const stopping = performance.now();
    daemon.kill('SIGTERM');
    const exit = await Promise.race([exited, new Promise<{ code: null; signal: string }>((r) => setTimeout(() => r({ code: null, signal: 'still running 15 s after SIGTERM' }), 15_000))]);
    const stopMs = Math.round(performance.now() - stopping);
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
    await client.endAsync();
    if (!aliveToTheEnd) options.progress(`the daemon exited early: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);

    const warmUpS = Math.min(300, (options.minutes * 60) / 6);
    const afterWarmUp = samples.find((s) => s.atS >= warmUpS) ?? samples[0]!;
    const atEnd = samples.at(-1)!;
    const loopP99 = telemetry.map((x) => x.t.eventLoopDelayMs.p99).sort((a, b) => a - b);
    const growthPercent = round(((atEnd.rssMb - afterWarmUp.rssMb) / afterWarmUp.rssMb) * 100, 1);
    return {
      minutes: options.minutes,
      warmUpMinutes: round(warmUpS / 60, 2),
      rss: { afterWarmUpMb: afterWarmUp.rssMb, atEndMb: atEnd.rssMb, maxMb: Math.max(...samples.map((s) => s.rssMb)), growthPercent },
      heap: { ...(afterWarmUp.heapMb !== undefined ? { afterWarmUpMb: afterWarmUp.heapMb } : {}), ...(atEnd.heapMb !== undefined ? { atEndMb: atEnd.heapMb } : {}) },
      eventLoopDelayMs: {
        p99Worst: loopP99.at(-1) ?? 0,
        maxWorst: Math.max(0, ...telemetry.map((x) => x.t.eventLoopDelayMs.max)),
        p99Median: loopP99[Math.floor(loopP99.length / 2)] ?? 0,
      },
      activity: { visionFpsMedian: telemetry.map((x) => x.t.visionFps).sort((a, b) => a - b)[Math.floor(telemetry.length / 2)] ?? 0, ...activity },
      logSample,
      exit: { ...exit, stopMs },
      passed: aliveToTheEnd && exit.code === 0 && growthPercent < RSS_GROWTH_LIMIT_PERCENT,
      samples,
    };
  } finally {
    await broker.stop();
    await cloud.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function readProc(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}

export function writeSoakReport(report: SoakReport, out: string): { json: string; svg: string } {
  mkdirSync(out, { recursive: true });
  const json = path.join(out, 'soak.json');
  const svg = path.join(out, 'soak.svg');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const minutes = (s: SoakSample) => round(s.atS / 60, 2);
  const series = (name: string, color: string, pick: (s: SoakSample) => number | undefined) => ({
    name,
    color,
    points: report.samples.flatMap((s): [number, number][] => (pick(s) === undefined ? [] : [[minutes(s), pick(s)!]])),
  });
  writeFileSync(
    svg,
    lineChartsSvg(
      [
        { title: `Memory over a ${report.minutes}-minute soak (RSS growth after warm-up ${report.rss.growthPercent}%)`, xLabel: 'min', yLabel: 'MB', series: [series('RSS', '#4c78a8', (s) => s.rssMb), series('JS heap', '#f58518', (s) => s.heapMb)] },
        { title: 'Event-loop delay per telemetry interval', xLabel: 'min', yLabel: 'ms', series: [series('p99', '#54a24b', (s) => s.eventLoopDelayP99Ms), series('max', '#b279a2', (s) => s.eventLoopDelayMaxMs)] },
      ],
      `daemon in full mode: demo video, simulated board, fake cloud voice with a talking microphone, mosquitto with commands every 30 s`,
    ),
  );
  return { json, svg };
}
