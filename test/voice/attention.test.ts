import t from 'tap';
import { AttentionGate, yawDeg } from '../../src/voice/attention.js';
import type { FaceLandmarks } from '../../src/vision/face.js';
import type { FaceResult } from '../../src/vision/pipeline.js';
import { attendedFace, visionFrame } from '../helpers/vision-frame.js';

/** Eyes 60 px apart; the nose `shift` px to the side of their midpoint. */
function landmarks(shift: number): FaceLandmarks {
  return { rightEye: { x: 70, y: 100 }, leftEye: { x: 130, y: 100 }, nose: { x: 100 + shift, y: 130 }, mouth: { x: 100, y: 150 }, rightEar: { x: 50, y: 110 }, leftEar: { x: 150, y: 110 } };
}

const frame = (face?: Partial<FaceResult>) => visionFrame(face ? [attendedFace(face)] : []);

t.test('yaw from the nose between the eyes', async (t) => {
  t.equal(yawDeg(landmarks(0)), 0, 'nose in the middle: facing the camera');
  t.ok(Math.abs(yawDeg(landmarks(27)) - 45) < 1, `nose shifted by 0.45 eye distances: 45° (${yawDeg(landmarks(27)).toFixed(1)})`);
  t.equal(yawDeg(landmarks(-27)).toFixed(3), yawDeg(landmarks(27)).toFixed(3), 'either side');
  t.ok(yawDeg(landmarks(10)) < 35 && yawDeg(landmarks(20)) > 35, 'a slight turn is facing, a clear one is not');
  t.equal(yawDeg({ ...landmarks(0), leftEye: { x: 70, y: 100 } }), 90, 'eyes on top of each other: side-on');
});

t.test('a tilted head is not a turned one', async (t) => {
  // Facing the camera, the head tilted 30° and 40°: eyes and nose rotated together about the eyes' midpoint.
  for (const degrees of [30, 40]) {
    const a = (degrees * Math.PI) / 180;
    const turn = (p: { x: number; y: number }) => ({ x: 100 + (p.x - 100) * Math.cos(a) - (p.y - 100) * Math.sin(a), y: 100 + (p.x - 100) * Math.sin(a) + (p.y - 100) * Math.cos(a) });
    const face = landmarks(0);
    const tilted = { ...face, rightEye: turn(face.rightEye), leftEye: turn(face.leftEye), nose: turn(face.nose) };
    t.ok(yawDeg(tilted) < 1, `tilted ${degrees}°: yaw ${yawDeg(tilted).toFixed(1)}°`);
  }
});

t.test('an utterance is admitted when the attended person faced the robot within the window', async (t) => {
  let now = 100_000;
  const gate = new AttentionGate({ attention_max_yaw_deg: 35, attention_window_ms: 5000 }, () => now);
  t.match(gate.admits(1000), { admitted: false, because: /did not face the robot/ }, 'nothing seen, nothing said');
  gate.frame(frame());
  gate.frame(frame({ landmarks: landmarks(30) }));
  t.match(gate.admits(1000), { admitted: false }, 'nobody in view, or a face turned away: no');
  gate.frame(frame({ landmarks: landmarks(5) }));
  now += 3000;
  t.same(gate.admits(1000), { admitted: true, because: 'looked at' });
  now += 2500;
  t.same(gate.admits(1000), { admitted: true, because: 'looked at' }, 'looked at before a 1-s utterance began, within 5 s');
  now += 1000;
  t.match(gate.admits(1000), { admitted: false }, 'too long ago');
  t.same(gate.admits(3000), { admitted: true, because: 'looked at' }, 'unless the utterance itself began soon enough after');
  now += 60_000;
  t.match(gate.admits(60_000), { admitted: false }, 'a minute of merged babble does not reach back a minute');
  gate.frame({ ...frame({ landmarks: landmarks(0) }), attendedTrackId: 2 });
  t.match(gate.admits(500), { admitted: false }, 'only the attended face counts');
  gate.frame(frame({ box: { x: 0, y: 0, width: 1, height: 1 } }));
  t.same(gate.admits(500), { admitted: true, because: 'looked at' }, 'a face without landmarks (Haar) counts as facing');
});

t.test('the robot talking opens the window only with someone in view, and while it talks', async (t) => {
  let now = 100_000;
  const gate = new AttentionGate({ attention_max_yaw_deg: 35, attention_window_ms: 5000 }, () => now);
  gate.speakingChanged(true);
  now += 2000;
  gate.speakingChanged(false);
  t.match(gate.admits(1000), { admitted: false }, 'talking to an empty room (a say command, a TV it answered) opens nothing');
  gate.frame(frame({ landmarks: landmarks(30) }));
  now += 6000;
  gate.speakingChanged(true);
  now += 20_000;
  const lookingAway = () => gate.frame(frame({ landmarks: landmarks(30) }));
  lookingAway();
  t.same(gate.admits(1000), { admitted: true, because: 'the robot spoke' }, 'a long answer: what the person, in view but looking away, says meanwhile counts');
  gate.speakingChanged(false);
  now += 4000;
  lookingAway();
  t.same(gate.admits(1000), { admitted: true, because: 'the robot spoke' }, 'and just after');
  now += 3000;
  lookingAway();
  t.match(gate.admits(1000), { admitted: false }, 'but not long after');
});
