import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';

t.test('soak: the real daemon in full mode, memory and event-loop delay sampled, operator commands answered', async (t) => {
  const out = mkdtempSync(path.join(tmpdir(), 'emobot-soak-'));
  const result = await runCli(['soak', '--minutes', '0.6', '--out', out, '--json']);
  const report = JSON.parse(result.stdout);
  t.equal(result.code, report.passed ? 0 : 1, 'the exit status is the verdict');
  t.same(JSON.parse(readFileSync(path.join(out, 'soak.json'), 'utf8')), report);
  t.match(readFileSync(path.join(out, 'soak.svg'), 'utf8'), /Memory over a 0\.6\d*-minute soak[^]*<polyline[^]*Event-loop delay/);
  t.match(report.exit, { code: 0, signal: null }, 'the daemon stopped cleanly on SIGTERM');
  t.ok(report.samples.length >= 10, `${report.samples.length} samples`);
  t.ok(report.samples.every((s: { rssMb: number }) => s.rssMb > 50), 'RSS read from /proc');
  // 36 s at one message per 5 s, less the start-up, which takes longer on a loaded machine.
  t.ok(report.telemetry.length >= 3, `${report.telemetry.length} telemetry messages`);
  t.ok(
    report.telemetry.every((m: { heapMb: number; eventLoopDelayP99Ms: number }) => m.heapMb > 5 && m.eventLoopDelayP99Ms >= 0),
    'each with the heap and the event-loop delay',
  );
  t.ok(report.eventLoopDelayMs.p99.p50 >= 0 && report.eventLoopDelayMs.worstMax >= report.eventLoopDelayMs.p99.p50, 'event-loop delay summarised after the warm-up');
  t.ok(report.activity.visionFps.p50 > 0, 'the camera and vision ran');
  t.equal(report.exit.aliveToTheEnd, true);
  t.ok(report.activity.personTurns >= 1 && report.activity.robotSentences >= 1, `the person was heard (${report.activity.personTurns}) and answered (${report.activity.robotSentences})`);
  t.ok(report.activity.commandsSent >= 1 && report.activity.commandsOk === report.activity.commandsSent, 'commands answered');
  t.equal(report.activity.errors, 0, `no errors logged: ${report.logSample.join(' | ')}`);
});
