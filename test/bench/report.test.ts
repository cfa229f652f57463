import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { saveReport } from '../../src/bench/report.js';

t.test('a report is saved as indented JSON beside its plot', async (t) => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'emobot-report-')), 'new', 'folder');
  const files = saveReport(out, 'bench', { fps: 30 }, '<svg/>');
  t.same(files, { json: path.join(out, 'bench.json'), svg: path.join(out, 'bench.svg') });
  t.equal(readFileSync(files.json, 'utf8'), '{\n  "fps": 30\n}\n');
  t.equal(readFileSync(files.svg, 'utf8'), '<svg/>');
});
