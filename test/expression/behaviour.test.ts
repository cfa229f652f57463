import t from 'tap';
import { configSchema, type Config } from '../../src/config/schema.js';
import { ExpressionBehaviour, parseColor } from '../../src/expression/behaviour.js';
import type { Calibration } from '../../src/expression/calibration.js';
import { SafeServos } from '../../src/expression/safe-servos.js';

const calibration: Calibration = {
  servos: {
    head_pan: { min: 30, max: 150, center: 90, invert: false, trim: 0, max_speed_deg_s: 120 },
    head_tilt: { min: 50, max: 130, center: 90, invert: false, trim: 0, max_speed_deg_s: 90 },
    ears: { min: 20, max: 160, center: 90, invert: false, trim: 0, max_speed_deg_s: 240 },
  },
};
const FRAME = { width: 640, height: 480 };
const TICK_MS = 20;

function expressionConfig(overrides: Record<string, unknown> = {}): Config['expression'] {
  return configSchema.parse({ expression: overrides }).expression;
}

/** The behaviour and the safety layer together, on a simulated clock, recording the servo writes. */
function rig(config = expressionConfig()) {
  const writes: { at: number; servo: string; degrees: number }[] = [];
  let now = 0;
  const servos = new SafeServos(calibration, (servo, degrees) => writes.push({ at: now, servo, degrees }));
  servos.writeAll();
  const behaviour = new ExpressionBehaviour(config, servos, 0);
  let last = behaviour.update(0);
  return {
    servos,
    behaviour,
    writes,
    now: () => now,
    output: () => last,
    /** Runs the 50 Hz control loop for `ms`, calling `each` before every tick. */
    run(ms: number, each?: (now: number) => void) {
      const end = now + ms;
      while (now < end) {
        now += TICK_MS;
        each?.(now);
        last = behaviour.update(now);
        for (const [name, offset] of Object.entries(last.servos)) servos.setTarget(name, offset);
        servos.step(now);
      }
    },
  };
}

/** A face at `angle` degrees (pan) as the head-mounted camera sees it while the head points at `pan`. */
function faceBox(anglePan: number, pan: number, angleTilt = 0, tilt = 0) {
  const x = FRAME.width / 2 + ((anglePan - pan) / 62) * FRAME.width;
  const y = FRAME.height / 2 - ((angleTilt - tilt) / 49) * FRAME.height;
  return { x: x - 60, y: y - 60, width: 120, height: 120 };
}

t.test('the head follows a moving face and settles on it without oscillating', async (t) => {
  const r = rig();
  // A person walks from straight ahead to 35° right in 1.5 s and stays; frames every 33 ms,
  // each delivered 60 ms after capture (detection + inference), with ±3 px of detection noise.
  const angleAt = (time: number) => Math.min(35, (35 * time) / 1500);
  const pending: { due: number; capturedAt: number; box: ReturnType<typeof faceBox> }[] = [];
  let nextFrame = 0;
  let noise = 1;
  const panHistory: { at: number; pan: number }[] = [];
  r.run(6000, (now) => {
    if (now >= nextFrame) {
      nextFrame += 33;
      noise = -noise;
      const box = faceBox(angleAt(now), r.servos.offset('head_pan'));
      pending.push({ due: now + 60, capturedAt: now, box: { ...box, x: box.x + 3 * noise } });
    }
    while (pending[0] && pending[0].due <= now) {
      const frame = pending.shift()!;
      r.behaviour.face(frame.box, FRAME, frame.capturedAt);
    }
    panHistory.push({ at: now, pan: r.servos.offset('head_pan') });
  });
  const final = r.servos.offset('head_pan');
  t.ok(Math.abs(final - 35) <= 3.5, `pan settles within the deadband of the face (35°): ${final.toFixed(2)}°`);
  const peak = Math.max(...panHistory.map((p) => p.pan));
  t.ok(peak <= 35 + 3.5, `no overshoot beyond the deadband: peak ${peak.toFixed(2)}°`);
  const settledAt = panHistory.find((p) => Math.abs(p.pan - final) < 0.5 && panHistory.filter((q) => q.at >= p.at).every((q) => Math.abs(q.pan - final) < 0.5))!.at;
  t.ok(settledAt < 3500, `settled ${settledAt - 1500} ms after the person stopped`);
  const reversals = panHistory.slice(2).filter((p, i) => Math.sign(p.pan - panHistory[i + 1]!.pan) * Math.sign(panHistory[i + 1]!.pan - panHistory[i]!.pan) < 0 && Math.abs(p.pan - panHistory[i + 1]!.pan) > 0.05);
  t.equal(reversals.length, 0, 'the head never reverses direction on its way (no oscillation)');
  const lastSecondWrites = r.writes.filter((w) => w.servo === 'head_pan' && w.at > 5000);
  t.equal(lastSecondWrites.length, 0, 'a still face with detection noise causes no servo writes (deadband)');
});

t.test('the face is measured from where the head was when the frame was captured', async (t) => {
  const r = rig();
  r.behaviour.face(faceBox(30, 0), FRAME, 0);
  r.run(200);
  const panThen = r.servos.offset('head_pan');
  const capturedAt = r.now();
  r.run(200);
  t.ok(r.servos.offset('head_pan') > panThen + 5, 'the head moved on since the capture');
  // A late frame showing the face 10° right of where the head pointed *then* must aim at that
  // absolute angle, not at 10° right of where the head points now.
  r.behaviour.face(faceBox(panThen + 10, panThen), FRAME, capturedAt);
  r.run(2000);
  t.ok(Math.abs(r.servos.offset('head_pan') - (panThen + 10)) < 1, `aims at ${(panThen + 10).toFixed(1)}°: ${r.servos.offset('head_pan').toFixed(1)}°`);
});

t.test('each emotion shows its configured gesture and colour, then eases back', async (t) => {
  const config = expressionConfig({ follow: { enabled: false } });
  for (const [label, reaction] of Object.entries(config.reactions)) {
    const r = rig(config);
    r.behaviour.face(faceBox(0, 0), FRAME, 0);
    r.behaviour.react(label as keyof typeof config.reactions, 0);
    r.run(1200, (now) => r.behaviour.face(faceBox(0, 0), FRAME, now));
    for (const [servo, offset] of Object.entries(reaction.pose)) {
      t.ok(Math.abs(r.servos.offset(servo) - offset) < 2, `${label}: ${servo} at ${r.servos.offset(servo).toFixed(1)}°, pose says ${offset}°`);
    }
    const expected = parseColor(reaction.led.color);
    if (reaction.led.animation === 'solid') t.same(r.output().led, expected, `${label}: solid ${reaction.led.color}`);
    else {
      const seen: number[] = [];
      r.run(reaction.led.period_ms * 2, (now) => {
        r.behaviour.face(faceBox(0, 0), FRAME, now);
        seen.push(r.behaviour.update(now).led.red + r.behaviour.update(now).led.green + r.behaviour.update(now).led.blue);
      });
      t.ok(Math.max(...seen) > Math.min(...seen), `${label}: ${reaction.led.animation} changes brightness`);
    }
    r.run(reaction.duration_ms + 1500, (now) => r.behaviour.face(faceBox(0, 0), FRAME, now));
    for (const servo of Object.keys(reaction.pose)) t.ok(Math.abs(r.servos.offset(servo)) < 1, `${label}: ${servo} back after the reaction`);
  }
});

t.test('nobody there: idle motion after idle.after_ms, asleep after sleep.after_ms', async (t) => {
  const r = rig(expressionConfig({ idle: { after_ms: 1000 }, sleep: { after_ms: 20_000 } }));
  r.behaviour.face(faceBox(0, 0), FRAME, 0);
  r.run(900);
  t.equal(r.output().activity, 'following');
  r.run(8000);
  t.equal(r.output().activity, 'idle');
  const pans = r.writes.filter((w) => w.servo === 'head_pan' && w.at > 1000).map((w) => w.degrees);
  t.ok(Math.max(...pans) - Math.min(...pans) > 15, `looks around: pan spans ${(Math.max(...pans) - Math.min(...pans)).toFixed(1)}°`);
  t.same(r.output().led.blue > r.output().led.red, true, 'idle light is blue');
  r.run(12_000);
  t.equal(r.output().activity, 'asleep');
  r.run(3000);
  t.ok(Math.abs(r.servos.offset('head_tilt') - -25) < 0.5, 'sleep pose: head down');
  t.ok(Math.abs(r.servos.offset('ears') - -30) < 0.5, 'sleep pose: ears down');
  r.behaviour.face(faceBox(0, 0), FRAME, r.now());
  r.run(100);
  t.equal(r.output().activity, 'following', 'a face wakes it up');
});

t.test('sleep mode overrides everything; idle mode keeps colour but no gestures', async (t) => {
  const r = rig();
  r.behaviour.setMode('sleep');
  r.run(3000, (now) => r.behaviour.face(faceBox(0, 0), FRAME, now));
  t.equal(r.output().activity, 'asleep');
  r.behaviour.setMode('idle');
  r.behaviour.react('surprise', r.now());
  r.run(2500, (now) => r.behaviour.face(faceBox(0, 0), FRAME, now));
  t.ok(Math.abs(r.servos.offset('ears')) < 1, `no surprise gesture in idle mode (ears ${r.servos.offset('ears').toFixed(1)}°)`);
  t.same(r.output().led, parseColor('#ffffff'), 'but the surprise colour');
});

t.test('speaking wiggles the expressive servo and stops with the voice', async (t) => {
  const r = rig(expressionConfig({ follow: { enabled: false } }));
  r.behaviour.face(faceBox(0, 0), FRAME, 0);
  r.behaviour.speaking(true, 0);
  const ears: number[] = [];
  r.run(1000, (now) => {
    r.behaviour.face(faceBox(0, 0), FRAME, now);
    ears.push(r.servos.offset('ears'));
  });
  t.ok(Math.max(...ears) > 4 && Math.min(...ears) < -4, `ears move ±${(Math.max(...ears) - Math.min(...ears)) / 2}°`);
  r.behaviour.speaking(false, r.now());
  r.run(1000, (now) => r.behaviour.face(faceBox(0, 0), FRAME, now));
  t.ok(Math.abs(r.servos.offset('ears')) < 0.5, 'still again');
});

t.test('a commanded pose is held for pose_hold_ms; unknown poses are refused by name', async (t) => {
  const r = rig(expressionConfig({ pose_hold_ms: 2000 }));
  r.behaviour.face(faceBox(0, 0), FRAME, 0);
  r.behaviour.pose('curious', 0);
  r.run(1500, (now) => r.behaviour.face(faceBox(0, r.servos.offset('head_pan')), FRAME, now));
  t.equal(r.output().activity, 'posing');
  t.ok(Math.abs(r.servos.offset('ears') - 35) < 1);
  r.run(2000, (now) => r.behaviour.face(faceBox(0, r.servos.offset('head_pan')), FRAME, now));
  t.equal(r.output().activity, 'following');
  t.throws(() => r.behaviour.pose('moonwalk', 0), /no pose "moonwalk" \(known: rest, sleep, nod, look_left, look_right, curious\)/);
});

t.test('a malformed detection (NaN box, empty frame) is ignored, not followed', async (t) => {
  const r = rig();
  r.behaviour.face({ x: Number.NaN, y: 0, width: 10, height: 10 }, FRAME, 0);
  r.behaviour.face(faceBox(20, 0), { width: 0, height: 0 }, 0);
  r.run(1000);
  t.ok(Object.values(r.output().servos).every(Number.isFinite), 'all outputs are numbers');
  r.behaviour.face(faceBox(20, 0), FRAME, r.now());
  r.run(2000);
  t.ok(Math.abs(r.servos.offset('head_pan') - 20) < 1.5, 'and a good detection afterwards is followed');
});
