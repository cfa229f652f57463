import t from 'tap';
import { MAX_SENTENCE_LENGTH, SentenceSplitter, wholeCharactersEnd } from '../../src/voice/sentences.js';

const split = (chunks: string[]) => {
  const splitter = new SentenceSplitter();
  const out = chunks.flatMap((c) => splitter.push(c));
  return [...out, ...splitter.flush()];
};

t.test('sentences come out as soon as they are complete', async (t) => {
  const splitter = new SentenceSplitter();
  t.same(splitter.push('Hello the'), []);
  t.same(splitter.push('re. How a'), ['Hello there.']);
  t.same(splitter.push('re you? I'), ['How are you?']);
  t.same(splitter.push(" hope well!\nOk"), ['I hope well!']);
  t.same(splitter.flush(), ['Ok']);
});

t.test('abbreviations, initials and numbers do not end a sentence', async (t) => {
  t.same(split(['Dr. Smith said it costs 3.50 dollars, e.g. ', 'a coffee. J. R. R. Tolkien wrote books… ', 'Really?']), [
    'Dr. Smith said it costs 3.50 dollars, e.g. a coffee.',
    'J. R. R. Tolkien wrote books…',
    'Really?',
  ]);
});

t.test('token boundaries anywhere give the same sentences', async (t) => {
  const text = 'You look sad. Do you want to talk? I am here!';
  const whole = split([text]);
  for (let size = 1; size < 8; size++) {
    const chunks = text.match(new RegExp(`.{1,${size}}`, 'gs'))!;
    t.same(split(chunks), whole, `chunks of ${size}`);
  }
});

t.test('a reply that never ends a sentence is cut at spaces, no piece longer than MAX_SENTENCE_LENGTH', async (t) => {
  const words = 'and then we went on '.repeat(2000);
  const out = split(words.match(/.{1,5}/gs)!);
  t.ok(out.length > 100, `${out.length} pieces`);
  t.ok(out.every((s) => s.length <= MAX_SENTENCE_LENGTH), 'none too long');
  t.ok(out.slice(0, -1).every((s) => s.endsWith('on') || s.endsWith('and') || s.endsWith('then') || s.endsWith('we') || s.endsWith('went')), 'each cut between words');
  t.equal(out.join(' '), words.trim(), 'nothing lost');
  const unbroken = split(['x'.repeat(1000), '. Then.']);
  t.same(unbroken.map((s) => s.length), [300, 300, 300, 101, 5], 'a word longer than a sentence is cut where it must be');
});

t.test('control characters become spaces: a NUL must not reach the voice', async (t) => {
  t.same(split(['Hel\u0000lo\u001b[2J there.', ' Bye\u0007.']), ['Hel lo [2J there.', 'Bye .']);
});

t.test('a sentence end at exactly MAX_SENTENCE_LENGTH, at a piece boundary or not, ends that sentence', async (t) => {
  const text = `${'word '.repeat(59)}ends. Next one.`;
  t.equal(text.indexOf('.'), MAX_SENTENCE_LENGTH - 1);
  const whole = split([text]);
  t.same(whole, [`${'word '.repeat(59)}ends.`, 'Next one.']);
  t.same(split([text.slice(0, MAX_SENTENCE_LENGTH), text.slice(MAX_SENTENCE_LENGTH)]), whole);
});

t.test('a forced cut, or a cut where the reply is given up, does not split an emoji', async (t) => {
  const text = `${'x'.repeat(299)}😀${'y'.repeat(10)}.`;
  const out = split([text]);
  t.same(out.map((s) => s.length), [299, 13], 'the emoji goes with the next piece, whole');
  t.equal(out[1]!.codePointAt(0), 0x1f600);
  t.equal(wholeCharactersEnd('ab😀c', 3), 2, 'before the emoji');
  t.equal(wholeCharactersEnd('ab😀c', 4), 4, 'after it');
  t.equal(wholeCharactersEnd('abc', 2), 2);
});
