import t from 'tap';
import type { Calibration } from '../../src/expression/calibration.js';
import { SafeServos } from '../../src/expression/safe-servos.js';

const calibration: Calibration = {
  servos: {
    head_pan: { min: 40, max: 140, center: 90, invert: false, trim: 0, max_speed_deg_s: 100 },
    head_tilt: { min: 70, max: 110, center: 95, invert: true, trim: 2, max_speed_deg_s: 50 },
  },
};

function recorded() {
  const writes: { servo: string; degrees: number }[] = [];
  const servos = new SafeServos(calibration, (servo, degrees) => writes.push({ servo, degrees }));
  return { servos, writes };
}

t.test('whatever is asked, every write stays inside the calibrated range', async (t) => {
  const { servos, writes } = recorded();
  servos.writeAll();
  const requests = [1000, -1000, 180, -180, 55.5, Number.POSITIVE_INFINITY, Number.NaN, 1e308, -0.0001];
  let now = 0;
  for (const request of requests) {
    servos.setTarget('head_pan', request);
    servos.setTarget('head_tilt', request);
    for (let i = 0; i < 200; i++) servos.step((now += 20));
  }
  for (const { servo, degrees } of writes) {
    const { min, max } = calibration.servos[servo]!;
    t.ok(degrees >= min && degrees <= max, `${servo} ${degrees}° inside [${min}, ${max}]`);
  }
  t.ok(writes.some((w) => w.servo === 'head_pan' && w.degrees === 140), 'pan reached its max');
  t.ok(writes.some((w) => w.servo === 'head_pan' && w.degrees === 40), 'pan reached its min');
});

t.test('no servo moves faster than its max speed, however big the jump asked for', async (t) => {
  const { servos, writes } = recorded();
  servos.writeAll();
  servos.step(0);
  servos.setTarget('head_pan', 50);
  servos.setTarget('head_tilt', -25);
  const times: number[] = [];
  for (let now = 20; now <= 2000; now += 20) {
    servos.step(now);
    times.push(now);
  }
  for (const servo of ['head_pan', 'head_tilt']) {
    const positions = writes.filter((w) => w.servo === servo).map((w) => w.degrees);
    const maxStep = Math.max(...positions.slice(1).map((p, i) => Math.abs(p - positions[i]!)));
    const limit = calibration.servos[servo]!.max_speed_deg_s * 0.02;
    t.ok(maxStep <= limit + 0.05, `${servo}: largest step ${maxStep.toFixed(2)}° per 20 ms <= ${limit}°`);
  }
  t.equal(writes.filter((w) => w.servo === 'head_pan').at(-1)!.degrees, 140, 'pan got there (clamped to max)');
  t.ok(servos.settled());
  // A stalled event loop must not turn into one big jump afterwards.
  servos.setTarget('head_pan', -50);
  const before = servos.offset('head_pan');
  servos.step(10_000);
  t.ok(before - servos.offset('head_pan') <= 100 * 0.05 + 1e-9, 'a long gap between steps is capped at 50 ms of motion');
});

t.test('offsets honour centre, trim and inversion', async (t) => {
  const { servos, writes } = recorded();
  servos.setTarget('head_tilt', 10);
  servos.writeAll();
  t.same(writes.find((w) => w.servo === 'head_tilt'), { servo: 'head_tilt', degrees: 87 }, 'inverted: 95 + 2 - 10');
  t.equal(servos.offset('head_tilt'), 10);
  t.same(servos.offsetRange('head_tilt'), [-13, 27]);
  t.same(servos.offsetRange('head_pan'), [-50, 50]);
  t.throws(() => servos.setTarget('tail', 0), /no servo named "tail" \(this robot has head_pan, head_tilt\)/);
});

t.test('an unchanged position is not written again', async (t) => {
  const { servos, writes } = recorded();
  servos.writeAll();
  const count = writes.length;
  for (let now = 0; now < 1000; now += 20) servos.step(now);
  t.equal(writes.length, count);
});

t.test('a broken clock (NaN, Infinity) never turns into a servo command', async (t) => {
  const { servos, writes } = recorded();
  servos.writeAll();
  servos.step(0);
  servos.setTarget('head_pan', 30);
  servos.step(Number.NaN);
  servos.step(Number.POSITIVE_INFINITY);
  servos.step(20);
  t.ok(writes.every((w) => Number.isFinite(w.degrees)), 'every write is a number');
  t.ok(writes.at(-1)!.degrees > 90 && writes.at(-1)!.degrees <= 92, `still moving at the speed limit: ${writes.at(-1)!.degrees}°`);
});
