import t from 'tap';
import { escapeControls, jsonLine } from '../../src/runtime/printable.js';

t.test('escapeControls shows C0, DEL, C1 and line separators as \\u text and leaves the rest', async (t) => {
  t.equal(escapeControls('a\u001b[2Jb\u009b1A\u007f\u2028c\nd é 😀'), 'a\\u001b[2Jb\\u009b1A\\u007f\\u2028c\\u000ad é 😀');
});

t.test('jsonLine: one line with no raw control character, read back to the same value', async (t) => {
  const value = { mode: 'active\u009b2J\u001b[1A\u007f\u2028', n: [1, null] };
  const line = jsonLine(value);
  t.notMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  t.same(JSON.parse(line), value);
  t.equal(jsonLine(undefined), 'undefined');
});
