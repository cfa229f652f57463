import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/config/load.js';
import { loadHardwareProfile, profilePath } from '../../src/expression/profile.js';

t.test('the three shipped profiles are valid and name every actuator', async (t) => {
  for (const name of ['arduino-uno', 'raspberry-pi-pca9685', 'jetson-pca9685']) {
    const profile = loadHardwareProfile(name);
    t.ok(profile.servos.head_pan && profile.servos.head_tilt && profile.servos.ears, `${name}: pan, tilt and ears`);
    t.ok(profile.leds.mood, `${name}: mood LED`);
  }
  t.equal(loadHardwareProfile('arduino-uno').io.type, 'firmata');
  t.same(loadHardwareProfile('jetson-pca9685').pwm_driver, { type: 'pca9685', address: 0x40, frequency_hz: 61 });
});

t.test('a broken profile is reported with the key and line', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'emobot-profile-'));
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(
    file,
    ['name: Bad', 'io: { type: firmata, port: /dev/ttyACM0 }', 'servos:', '  head_pan: { pin: 9, default_limits: { min: 10, max: 170, center: 90, max_speed_deg_s: 60 } }', '  ears: { pin: 9, default_limits: { min: 10, max: 170, center: 200, max_speed_deg_s: 60 } }', 'leds: {}', ''].join('\n'),
  );
  const error = t.throws(() => loadHardwareProfile(file)) as unknown as ConfigError;
  t.type(error, ConfigError);
  const text = error.message;
  t.match(text, `${file}:5:`, 'names the line of the bad servo');
  t.match(text, 'servos.ears.default_limits.center');
  t.match(text, 'servo "head_tilt" is required');
  t.match(text, 'at least one LED');
  t.match(text, 'pin 9 is already used by servo head_pan');
});

t.test('a PCA9685 profile only takes channels 0-15', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'emobot-profile-'));
  const file = path.join(dir, 'pca.yaml');
  const servo = (pin: number) => `{ pin: ${pin}, default_limits: { min: 45, max: 135, center: 90, max_speed_deg_s: 60 } }`;
  writeFileSync(file, `name: PCA\nio: { type: linux-i2c, bus: 1 }\npwm_driver: { type: pca9685 }\nservos:\n  head_pan: ${servo(0)}\n  head_tilt: ${servo(1)}\n  ears: ${servo(61)}\nleds:\n  mood: { type: rgb, pins: { red: 13, green: 14, blue: 15 } }\n`);
  t.throws(() => loadHardwareProfile(file), /servos\.ears\.pin: a PCA9685 channel is 0-15/);
});

t.test('the profile\'s serial port is held to the rule expression.port is: a serial port, never a disk or memory', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'emobot-profile-'));
  const servo = (pin: number) => `{ pin: ${pin}, default_limits: { min: 45, max: 135, center: 90, max_speed_deg_s: 60 } }`;
  const profileOn = (port: string) => {
    const file = path.join(dir, 'board.yaml');
    writeFileSync(file, `name: Board\nio:\n  type: firmata\n  port: ${port}\nservos:\n  head_pan: ${servo(9)}\n  head_tilt: ${servo(10)}\n  ears: ${servo(11)}\nleds:\n  mood: { type: rgb, pins: { red: 3, green: 5, blue: 6 } }\n`);
    return file;
  };
  for (const port of ['/dev/sda', '/dev/mem', 'ttyACM0']) {
    const file = profileOn(port);
    const error = t.throws(() => loadHardwareProfile(file), port) as unknown as ConfigError;
    t.match(error.issues, [{ key: 'io.port', message: /^a serial port is /, value: port, line: 4 }], `${port} is refused at io.port, with its line`);
  }
  symlinkSync('/dev/mem', path.join(dir, 'ttyBOARD'));
  t.throws(() => loadHardwareProfile(profileOn(path.join(dir, 'ttyBOARD'))), /io\.port: a serial port is/, 'a link is judged by the device it leads to');
  symlinkSync('/dev/pts/0', path.join(dir, 'ttySIM'));
  for (const port of ['/dev/ttyUSB0', '/dev/serial/by-id/usb-Arduino_Uno-if00', path.join(dir, 'ttySIM')]) {
    t.equal(loadHardwareProfile(profileOn(port)).io.type, 'firmata', `${port} is a serial port`);
  }
});

t.test('names resolve to hardware/, paths stay paths', async (t) => {
  t.match(profilePath('arduino-uno'), /hardware\/arduino-uno\.yaml$/);
  t.equal(profilePath('/etc/emobot/my-robot.yaml'), '/etc/emobot/my-robot.yaml');
  t.throws(() => loadHardwareProfile('no-such-robot'), /no-such-robot\.yaml: invalid config[\s\S]*cannot read file/);
});
