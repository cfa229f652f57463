import t from 'tap';
import { CalibrationSession } from '../../src/expression/calibration-session.js';
import { defaultCalibration } from '../../src/expression/calibration.js';
import { loadHardwareProfile } from '../../src/expression/profile.js';
import { SimulatedBoard } from '../../src/expression/simulated-board.js';

const uno = loadHardwareProfile('arduino-uno');

t.test('jogging moves the real servo slowly, and only within 0-180°', async (t) => {
  const board = new SimulatedBoard(uno);
  const session = new CalibrationSession(defaultCalibration(uno), board);
  t.equal(board.servos.get('head_pan'), 90, 'starts at the centre');
  for (let i = 0; i < 30; i++) session.press('page-left');
  t.equal(session.position('head_pan'), 0, 'asked for -60°: stays at 0°');
  for (let now = 0; now <= 500; now += 20) session.step(now);
  t.equal(board.servos.get('head_pan'), 60, 'after 0.5 s at 60°/s it has moved 30°');
  for (let now = 520; now <= 2000; now += 20) session.step(now);
  t.equal(board.servos.get('head_pan'), 0);
  session.press('min');
  t.equal(session.calibration.servos.head_pan!.min, 0);
});

t.test('setting the centre folds the trim in; speed stays within bounds', async (t) => {
  const start = defaultCalibration(uno);
  start.servos.ears!.trim = 4;
  const session = new CalibrationSession(start, new SimulatedBoard(uno));
  session.press('down');
  session.press('down');
  t.equal(session.current, 'ears');
  t.equal(session.position('ears'), 94, 'starts where the trimmed centre was');
  session.press('center');
  t.match(session.calibration.servos.ears, { center: 94, trim: 0 });
  for (let i = 0; i < 200; i++) session.press('slower');
  t.equal(session.calibration.servos.ears!.max_speed_deg_s, 10);
  session.press('up');
  t.equal(session.current, 'head_tilt');
});
