import fc from 'fast-check';
import t from 'tap';
import { FleetView, MAX_ROBOTS, ROBOT_PAYLOAD_MAX_BYTES } from '../../src/remote/fleet.js';

t.test('robots are assembled from their status, state and telemetry topics', async (t) => {
  const view = new FleetView('lab/emobot');
  t.same(view.subscriptions, ['lab/emobot/+/status', 'lab/emobot/+/state', 'lab/emobot/+/telemetry']);
  view.receive('lab/emobot/desk-1/status', 'online', 1000);
  view.receive('lab/emobot/desk-1/state', JSON.stringify({ emotion: { label: 'happy', confidence: 0.84, since: 1 }, faces: 1, mode: 'active', muted: false, activity: 'following', version: '0.1.0' }), 1500);
  view.receive('lab/emobot/desk-1/telemetry', JSON.stringify({ visionFps: 29.5, cpuPercent: 61.25, cpuTemperatureC: 58.1, rssMb: 216 }), 2000);
  view.receive('lab/emobot/hall-2/status', 'offline', 2100);
  t.match(view.robots.get('desk-1'), { id: 'desk-1', status: 'online', state: { mode: 'active' }, telemetry: { visionFps: 29.5 }, seenAt: 2000 });
  t.same(view.table(), [
    'robot   status   mode    emotion    faces  head       fps   cpu    temp    rss     version',
    'desk-1  online   active  happy 84%  1      following  29.5  61.3%  58.1°C  216 MB  0.1.0',
    'hall-2  offline  -       -          -      -          -     -      -       -       -',
  ]);
});

t.test('messages no robot sends are counted and skipped', async (t) => {
  const view = new FleetView('emobot');
  t.equal(view.receive('emobot/a/state', '{not json'), undefined);
  t.equal(view.receive('emobot/a/state', '[1,2]'), undefined);
  t.equal(view.receive('emobot/a/status', 'maybe'), undefined);
  t.equal(view.receive('emobot/a/b/state', '{}'), undefined);
  t.equal(view.receive('other/a/state', '{}'), undefined);
  t.equal(view.ignored, 5);
  t.equal(view.robots.size, 0, 'nothing half-made is kept');
});

t.test('made-up robot ids cost room only up to MAX_ROBOTS: the robot heard from least recently is forgotten first', async (t) => {
  const view = new FleetView('emobot');
  view.receive('emobot/desk-1/status', 'online', 1);
  for (let i = 0; i < MAX_ROBOTS * 4; i++) {
    view.receive(`emobot/fake-${i}/status`, 'online', 2 + i);
    // A real robot reports now and then (telemetry); made-up ids need not ever again.
    if (i % 100 === 0) view.receive('emobot/desk-1/telemetry', '{"visionFps":30}', 2 + i);
  }
  t.equal(view.robots.size, MAX_ROBOTS);
  t.equal(view.forgotten, MAX_ROBOTS * 3 + 1);
  t.match(view.robots.get('desk-1'), { status: 'online', telemetry: { visionFps: 30 } }, 'the robot that keeps reporting is kept, and what it said before');
  t.notOk(view.robots.has('fake-0'));
  t.ok(view.robots.has(`fake-${MAX_ROBOTS * 4 - 1}`));
  t.equal(view.table().length, MAX_ROBOTS + 1, 'the table has a row for each robot kept');
});

t.test('a payload larger than a robot sends is ignored, not parsed nor kept', async (t) => {
  const view = new FleetView('emobot');
  const state = (pad: number) => JSON.stringify({ mode: pad ? 'sleep' : 'active', pad: 'x'.repeat(pad) });
  view.receive('emobot/desk-1/state', state(0));
  t.equal(view.receive('emobot/desk-1/state', state(ROBOT_PAYLOAD_MAX_BYTES)), undefined);
  t.equal(view.receive('emobot/fake/state', state(ROBOT_PAYLOAD_MAX_BYTES)), undefined);
  t.equal(view.ignored, 2);
  t.match(view.robots.get('desk-1'), { state: { mode: 'active' } }, 'the state before it stands');
  t.notOk(view.robots.has('fake'));
  t.ok(view.receive('emobot/desk-1/state', state(ROBOT_PAYLOAD_MAX_BYTES - 40)), 'a state just under the limit is read');
});

t.test('what a client publishes reaches the terminal without control characters, each cell short', async (t) => {
  const view = new FleetView('emobot');
  view.receive('emobot/hall\u001b[2J/status', 'online');
  view.receive('emobot/hall\u001b[2J/state', JSON.stringify({ mode: 'active\u001b[1A\u001b[2K\rdesk-1  offline', version: '\u001b]52;c;aGk=\u0007' + 'x'.repeat(500), emotion: { label: 'happy\u009b2J', confidence: 0.5 } }));
  const table = view.table().join('\n');
  t.notMatch(table, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no control character but the line breaks between rows');
  t.match(table, /hall\?\[2J/);
  t.match(table, /active\?\[1A/);
  t.ok(table.split('\n').every((line) => line.length < 300), 'a long field is cut short');
});

t.test('fuzz: whatever another client publishes under the base topic, the view and its table never throw', async (t) => {
  const view = new FleetView('emobot');
  const kinds = fc.constantFrom('status', 'state', 'telemetry', 'log', '');
  const topic = fc.oneof(fc.tuple(fc.constantFrom('a', 'b', 'c'), kinds).map(([id, kind]) => `emobot/${id}/${kind}`), fc.string().map((s) => `emobot/${s}`));
  const field = fc.oneof(fc.jsonValue(), fc.constant(null), fc.constant({}), fc.constant([]));
  const stateLike = fc.record({ emotion: fc.oneof(field, fc.record({ label: field, confidence: field })), faces: field, mode: field, muted: field, activity: field, version: field, visionFps: field, cpuPercent: field, cpuTemperatureC: field, rssMb: field }, { requiredKeys: [] });
  const payload = fc.oneof(stateLike.map((v) => JSON.stringify(v)), fc.jsonValue().map((v) => JSON.stringify(v)), fc.constantFrom('online', 'offline'), fc.string({ unit: 'binary' }));
  fc.assert(
    fc.property(fc.array(fc.tuple(topic, payload), { maxLength: 10 }), (messages) => {
      for (const [name, body] of messages) view.receive(name, body);
      for (const line of view.table()) if (typeof line !== 'string') throw new Error('table line is not text');
    }),
    { numRuns: 500, seed: 11 },
  );
  t.ok(view.robots.size > 0, `${view.robots.size} robots seen, ${view.ignored} messages ignored`);
});
