import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger, type ProblemEntry } from '../../src/runtime/logger.js';

function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

t.test('JSON lines tagged with the robot, secrets redacted wherever they appear', async (t) => {
  const out = sink();
  const log = createLogger({ level: 'info', robotId: 'desk-bot', destination: out.stream });
  log.info({ apiKey: 'sk-1', voice: { api_key: 'el-2' }, mqtt: { password: 'p' } }, 'connecting');
  await new Promise((r) => setImmediate(r));
  const entry = JSON.parse(out.lines[0]!);
  t.match(entry, { robot: 'desk-bot', msg: 'connecting', apiKey: '[redacted]', voice: { api_key: '[redacted]' }, mqtt: { password: '[redacted]' } });
  t.notMatch(out.lines[0], /sk-1|el-2/);
});

t.test('warnings and errors also reach onProblem; info does not', async (t) => {
  const out = sink();
  const problems: ProblemEntry[] = [];
  const log = createLogger({ level: 'info', robotId: 'r', destination: out.stream, onProblem: (e) => problems.push(e) });
  log.info('fine');
  log.child({ subsystem: 'camera' }).warn('camera lost');
  log.error({ password: 'x' }, 'broke');
  await new Promise((r) => setImmediate(r));
  t.equal(out.lines.length, 3, 'everything still goes to the main destination');
  t.match(problems, [
    { level: 'warn', msg: 'camera lost', subsystem: 'camera', time: /^\d{4}-/ },
    { level: 'error', msg: 'broke' },
  ]);
  t.equal(problems.length, 2);
});

t.test('the secrets\' values are blanked wherever they appear, in any field, also on the way to onProblem', async (t) => {
  const out = sink();
  const problems: ProblemEntry[] = [];
  const secret = 'sk-live-0123456789';
  const quoted = 'pa"ss\\word42';
  const log = createLogger({ level: 'info', robotId: 'r', destination: out.stream, secrets: [secret, quoted], onProblem: (e) => problems.push(e) });
  log.warn({ detail: `OPENAI_API_KEY=${secret}\nEMOBOT_MQTT_PASSWORD=${quoted}` }, `cannot parse ${secret}`);
  await new Promise((r) => setImmediate(r));
  t.notMatch(out.lines[0], /sk-live-0123456789|word42/);
  t.match(JSON.parse(out.lines[0]!), { detail: 'OPENAI_API_KEY=[redacted]\nEMOBOT_MQTT_PASSWORD=[redacted]', msg: 'cannot parse [redacted]' });
  t.same(problems.map((p) => p.msg), ['cannot parse [redacted]']);
});
