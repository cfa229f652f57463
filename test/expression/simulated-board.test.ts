import t from 'tap';
import { loadHardwareProfile } from '../../src/expression/profile.js';
import { SimulatedBoard } from '../../src/expression/simulated-board.js';

const uno = loadHardwareProfile('arduino-uno');

t.test('records what it is told and reports it once per interval, only when something changed', async (t) => {
  const lines: string[] = [];
  const board = new SimulatedBoard(uno, { intervalMs: 50, print: (line) => lines.push(line) });
  await board.connect();
  board.writeServo('head_pan', 92.5);
  board.writeLed('mood', { red: 255, green: 176, blue: 0 });
  await new Promise((r) => setTimeout(r, 160));
  t.same(lines, ['head_pan 92.5° mood #ffb000']);
  board.writeServo('ears', 120);
  await board.close();
  t.same(lines.at(-1), 'head_pan 92.5° ears 120.0° mood #ffb000', 'the last state is reported on close');
  t.same(board.writes.map((w) => w.kind), ['servo', 'led', 'servo']);
});

t.test('an actuator the profile lacks is an error, as on the real board', async (t) => {
  const board = new SimulatedBoard(uno);
  t.throws(() => board.writeServo('tail', 10), /no servo "tail"/);
  t.throws(() => board.writeLed('eyes', { red: 0, green: 0, blue: 0 }), /no LED "eyes"/);
});

t.test('the write history is bounded', async (t) => {
  const board = new SimulatedBoard(uno, undefined, 100);
  for (let i = 0; i < 1000; i++) board.writeServo('head_pan', i % 180);
  t.equal(board.writes.length, 100);
  t.match(board.writes.at(-1), { kind: 'servo', degrees: 999 % 180 });
});
