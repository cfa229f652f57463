import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { defaultCalibration, loadCalibration, saveCalibration } from '../../src/expression/calibration.js';
import { loadHardwareProfile } from '../../src/expression/profile.js';

const uno = loadHardwareProfile('arduino-uno');
const dir = mkdtempSync(path.join(os.tmpdir(), 'emobot-calibration-'));

t.test('without a file, the profile limits apply', async (t) => {
  t.same(loadCalibration(undefined, uno).servos.head_pan, { min: 45, max: 135, center: 90, max_speed_deg_s: 120, invert: false, trim: 0 });
});

t.test('saved and loaded back unchanged; servos the file omits keep the profile limits', async (t) => {
  const file = path.join(dir, 'robot.yaml');
  const calibration = defaultCalibration(uno);
  calibration.servos.head_pan = { min: 30, max: 150, center: 92, invert: true, trim: -1.5, max_speed_deg_s: 200 };
  saveCalibration(file, { servos: { head_pan: calibration.servos.head_pan } }, 'test robot');
  t.match(readFileSync(file, 'utf8'), /^# test robot\n/);
  t.same(loadCalibration(file, uno), calibration);
});

t.test('bad files are refused with the key, and nothing is written from bad data', async (t) => {
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(file, 'servos:\n  head_pan: { min: 100, max: 80, center: 90, max_speed_deg_s: 50 }\n');
  t.throws(() => loadCalibration(file, uno), /bad\.yaml:2:\d+ servos\.head_pan: min <= center <= max/);
  writeFileSync(file, 'servos:\n  tail: { min: 10, max: 80, center: 40, max_speed_deg_s: 50 }\n');
  t.throws(() => loadCalibration(file, uno), /servos\.tail: no such servo in the hardware profile/);
  const target = path.join(dir, 'never.yaml');
  t.throws(() => saveCalibration(target, { servos: { head_pan: { min: 0, max: 500, center: 90, invert: false, trim: 0, max_speed_deg_s: 10 } } }, 'x'));
  t.throws(() => readFileSync(target), /ENOENT/);
});

t.test('the shipped example calibration is valid for the Uno profile', async (t) => {
  const calibration = loadCalibration(path.join(import.meta.dirname, '..', '..', 'calibration', 'example-desk-robot.yaml'), uno);
  t.equal(calibration.servos.head_pan!.center, 93);
});
