import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { fileProblems } from '../../src/config/files.js';
import { configSchema } from '../../src/config/schema.js';

const dir = mkdtempSync(path.join(tmpdir(), 'emobot-files-'));
const configFile = path.join(dir, 'config.yaml');
const env = { EMOBOT_STATE_DIR: path.join(dir, 'state') };
const problems = (config: Record<string, unknown>) => fileProblems(configSchema.parse(config), configFile, env).map((p) => `${p.key.join('.')}: ${p.message}`);

t.test('files in the package, beside the config or in an owner-allowed folder are fine', async (t) => {
  writeFileSync(path.join(dir, 'model.onnx'), '');
  t.same(problems({ vision: { model: path.join(dir, 'model.onnx') }, expression: { hardware: 'raspberry-pi-pca9685', port: '/dev/ttyACM0' }, camera: { source: '/dev/video0' } }), []);
  t.same(problems({ camera: { source: 'assets/demo-faces.mp4' } }), [], 'relative to the package');
  t.same(problems({ runtime: { allowed_folders: ['/srv/videos'] }, camera: { source: '/srv/videos/a.mp4' } }), []);
  symlinkSync('/dev/pts/0', path.join(dir, 'ttySIM'));
  t.same(problems({ expression: { port: path.join(dir, 'ttySIM') } }), [], 'a stable link to a pseudo-terminal (a simulated board)');
});

t.test('files elsewhere, traversal, links out and devices that are not cameras or serial ports are refused by key', async (t) => {
  mkdirSync(path.join(dir, 'sub'));
  symlinkSync('/etc/passwd', path.join(dir, 'sub', 'profile.yaml'));
  t.match(problems({ expression: { hardware: '/proc/self/environ' } }), [/^expression\.hardware: the file must be inside /]);
  t.match(problems({ vision: { model: '../../../../../proc/self/environ' } }), [/^vision\.model: /]);
  t.match(problems({ expression: { calibration: path.join(dir, 'sub', 'profile.yaml') } }), [/^expression\.calibration: /], 'a link out of an allowed folder');
  t.match(problems({ expression: { calibration: `${dir}/../../etc/shadow` } }), [/^expression\.calibration: /]);
  t.match(problems({ remote: { mqtt: { tls: { ca: '/home/someone/ca.pem' } } } }), [/^remote\.mqtt\.tls\.ca: /]);
  t.match(problems({ camera: { source: '/dev/sda' } }), [/^camera\.source: a camera device is/]);
  t.match(problems({ expression: { port: '/dev/mem' } }), [/^expression\.port: a serial port is/]);
  symlinkSync('/dev/mem', path.join(dir, 'ttyBOARD'));
  t.match(problems({ expression: { port: path.join(dir, 'ttyBOARD') } }), [/^expression\.port: a serial port is/], 'a link is judged by the device it leads to');
  t.match(problems({ camera: { source: 'filesrc location=/etc/shadow ! decodebin ! appsink' } }), [/^camera\.source: the file must be/]);
});
