import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { SECRET_ENV_VARS } from '../../src/config/secrets.js';

const run = promisify(execFile);
const repo = path.join(import.meta.dirname, '..', '..');
const asRoot = process.getuid?.() === 0 ? false : 'install.sh needs root (useradd)';

/** A staging root with copies of the account databases, so install.sh can create its user there. */
function stagingRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'emobot-root-'));
  mkdirSync(path.join(root, 'etc'));
  for (const db of ['passwd', 'group', 'shadow', 'gshadow']) copyFileSync(`/etc/${db}`, path.join(root, 'etc', db));
  return root;
}

/** Installed files that mention a test double (the robot's code must not depend on them). */
async function testDoublesNamedIn(app: string): Promise<string[]> {
  const { stdout } = await run('grep', ['-rlE', 'fake-cloud|fake-microphone|local-broker|realtime-mic', 'dist', 'scripts', 'systemd'], { cwd: app }).catch((err: { code: number; stdout: string }) => {
    if (err.code === 1) return { stdout: '' }; // grep: no match
    throw err;
  });
  // The bench and soak load them only when run (src/bench/dev-tools.ts).
  return stdout.split('\n').filter((file) => file && !/^dist\/bench\/(voice|soak)\.js$/.test(file));
}

t.test('install.sh lays out /opt/emobot, the user, the config and a 0600 secrets file, none of it writable by the daemon; uninstall reverses it', { skip: asRoot, timeout: 300_000 }, async (t) => {
  const root = stagingRoot();
  // A clean environment: tap's NODE_OPTIONS (its TypeScript loader) must not leak into npm inside install.sh.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ROOT: root };
  await run('bash', [path.join(repo, 'systemd', 'install.sh')], { env, maxBuffer: 1 << 24 });

  t.ok(existsSync(path.join(root, 'opt/emobot/dist/cli/main.js')));
  t.ok(existsSync(path.join(root, 'opt/emobot/node_modules/@u4/opencv4nodejs')));
  t.notOk(existsSync(path.join(root, 'opt/emobot/node_modules/typescript')), 'dev dependencies pruned');
  t.ok(existsSync(path.join(repo, 'dist/dev/fake-cloud.js')), 'the checkout has the test doubles');
  t.notOk(existsSync(path.join(root, 'opt/emobot/dist/dev')), 'the robot does not get them (nor the build record that lists them)');
  t.same(await testDoublesNamedIn(path.join(root, 'opt/emobot')), [], 'and nothing installed names one');
  const soak = await run(process.execPath, [path.join(root, 'opt/emobot/dist/cli/main.js'), 'soak', '--minutes', '1'], { env }).catch((err: { code: number; stderr: string }) => err);
  t.match(soak, { code: 1, stderr: /emobot soak: the soak run needs the development tools \(dist\/dev\), which an installed robot leaves out/ }, 'the installed soak command says why it cannot run');
  t.ok(existsSync(path.join(root, 'opt/emobot/assets/demo-faces.mp4')));
  t.equal(readFileSync(path.join(root, 'etc/emobot/config.yaml'), 'utf8'), readFileSync(path.join(repo, 'config.example.yaml'), 'utf8'));
  t.equal(statSync(path.join(root, 'etc/emobot/secrets.env')).mode & 0o777, 0o600, 'the secrets are root\'s alone');
  t.equal(statSync(path.join(root, 'etc/emobot')).mode & 0o777, 0o750, 'the daemon\'s group reads /etc/emobot and cannot write it');
  t.equal(statSync(path.join(root, 'etc/emobot/config.yaml')).mode & 0o777, 0o640);
  t.match(readFileSync(path.join(root, 'etc/emobot/secrets.env'), 'utf8'), /^OPENAI_API_KEY=$/m);
  const template = readFileSync(path.join(root, 'etc/emobot/secrets.env'), 'utf8');
  for (const variable of Object.values(SECRET_ENV_VARS)) t.match(template, new RegExp(`^${variable}=$`, 'm'), `${variable}: every secret the robot reads has its line`);
  t.equal(readFileSync(path.join(root, 'etc/systemd/system/emobot.service'), 'utf8'), readFileSync(path.join(repo, 'systemd/emobot.service'), 'utf8'));
  t.match(readFileSync(path.join(root, 'etc/passwd'), 'utf8'), /^emobot:x:\d+:\d+::\/var\/lib\/emobot:\/usr\/sbin\/nologin$/m);
  const groups = readFileSync(path.join(root, 'etc/group'), 'utf8');
  for (const group of ['video', 'audio', 'dialout', 'gpio', 'i2c']) t.match(groups, new RegExp(`^${group}:x:\\d+:.*\\bemobot\\b`, 'm'), group);

  // A second install keeps the user's edits and keys.
  await run('bash', ['-c', `echo 'robot: {id: kitchen-bot}' > ${root}/etc/emobot/config.yaml && bash ${repo}/systemd/install.sh`], { env, maxBuffer: 1 << 24 });
  t.match(readFileSync(path.join(root, 'etc/emobot/config.yaml'), 'utf8'), /kitchen-bot/);

  await run('bash', [path.join(repo, 'systemd', 'uninstall.sh')], { env });
  t.notOk(existsSync(path.join(root, 'opt/emobot')));
  t.notOk(existsSync(path.join(root, 'etc/systemd/system/emobot.service')));
  t.ok(existsSync(path.join(root, 'etc/emobot/config.yaml')), 'config kept without --purge');
  await run('bash', [path.join(repo, 'systemd', 'uninstall.sh'), '--purge'], { env });
  t.notOk(existsSync(path.join(root, 'etc/emobot')));
  t.notMatch(readFileSync(path.join(root, 'etc/passwd'), 'utf8'), /^emobot:/m);
});
