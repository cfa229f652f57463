import t from 'tap';
import { SentenceSplitter } from '../../src/voice/sentences.js';

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
