import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };

t.test('--version prints the package version', async (t) => {
  const result = await runCli(['--version']);
  t.equal(result.code, 0);
  t.equal(result.stdout, `${pkg.version}\n`);
});

t.test('--help lists every command', async (t) => {
  const result = await runCli(['--help']);
  t.equal(result.code, 0);
  for (const command of ['run', 'demo', 'doctor', 'config check', 'fleet', 'calibrate', 'replay', 'bench', 'soak', 'eval-model']) t.match(result.stdout, new RegExp(`^  ${command}\\b`, 'm'));
});

t.test('no command, an unknown command or a bad option is a usage error (exit 2)', async (t) => {
  t.equal((await runCli([])).code, 2);
  const unknown = await runCli(['dance']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command "dance"/);
  const badOption = await runCli(['run', '--colour']);
  t.equal(badOption.code, 2);
  t.match(badOption.stderr, /--colour/);
  const badSeconds = await runCli(['demo', '--seconds', 'soon']);
  t.equal(badSeconds.code, 2);
  t.match(badSeconds.stderr, /--seconds must be a positive number, got "soon"/);
});
