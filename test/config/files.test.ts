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

t.test('a `..` after a link applies to where the link leads, as the kernel opens the path', async (t) => {
  const outside = mkdtempSync(path.join(tmpdir(), 'emobot-files-outside-'));
  mkdirSync(path.join(outside, 'deep'));
  writeFileSync(path.join(outside, 'secret.yaml'), 'io: {}\n');
  symlinkSync(path.join(outside, 'deep'), path.join(dir, 'out'));
  t.match(problems({ expression: { hardware: `${dir}/out/../secret.yaml` } }), [/^expression\.hardware: the file must be inside /], 'opens the outside folder\'s secret.yaml');
  t.match(problems({ camera: { source: `filesrc location=${dir}/out/../secret.yaml ! qtdemux ! appsink` } }), [/^camera\.source: the file must be/]);
  t.match(problems({ vision: { model: `${dir}/out/deep-missing/../../secret.yaml` } }), [/^vision\.model: /], 'through a part that is not there');
  writeFileSync(path.join(dir, 'secret.yaml'), 'io: {}\n');
  symlinkSync('out/../secret.yaml', path.join(dir, 'hardware.yaml'));
  t.match(problems({ expression: { hardware: path.join(dir, 'hardware.yaml') } }), [/^expression\.hardware: /], 'in a link\'s target too, past a decoy where the text would lead');
  // A loop of links with many `..` in it: as the kernel, the check gives up after 40 links (the
  // open then fails with ELOOP) instead of trying every way through.
  symlinkSync(Array(9).fill('loop').join('/../'), path.join(dir, 'loop'));
  t.same(problems({ expression: { calibration: path.join(dir, 'loop') } }), [], 'answers, the kernel opening nothing');
  mkdirSync(path.join(dir, 'models', 'current'), { recursive: true });
  symlinkSync(path.join(dir, 'models', 'current'), path.join(dir, 'in'));
  t.same(problems({ vision: { model: `${dir}/in/../model.onnx` } }), [], 'a link to a folder inside, and `..` from there, stays inside');
});
