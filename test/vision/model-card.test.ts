import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadModelCard, modelCardPath } from '../../src/vision/model-card.js';

const fixture = path.join(import.meta.dirname, '..', 'fixtures', 'tiny-flatten.json');

t.test('int8 and fp32 variants share the card named after the model family; an exact card wins', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-card-'));
  t.equal(modelCardPath(path.join(dir, 'emotion-int8.onnx')), path.join(dir, 'emotion.json'));
  t.equal(modelCardPath(path.join(dir, 'emotion-fp32.onnx')), path.join(dir, 'emotion.json'));
  t.equal(modelCardPath(path.join(dir, 'other.onnx')), path.join(dir, 'other.json'));
  writeFileSync(path.join(dir, 'emotion-int8.json'), '{}');
  t.equal(modelCardPath(path.join(dir, 'emotion-int8.onnx')), path.join(dir, 'emotion-int8.json'));
});

t.test('a valid card loads with defaults filled in', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-card-'));
  copyFileSync(fixture, path.join(dir, 'tiny.json'));
  const { card, file } = loadModelCard(path.join(dir, 'tiny.onnx'));
  t.equal(file, path.join(dir, 'tiny.json'));
  t.same(card.labels, ['top-left', 'top-right', 'bottom-left', 'bottom-right']);
  t.equal(card.test_time_flip, false);
});

t.test('a missing or invalid card is an error naming the file and the field', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-card-'));
  t.throws(() => loadModelCard(path.join(dir, 'none.onnx')), { name: 'ModelCardError', message: /none\.json: ENOENT/ });
  // A model path may name any file; JSON.parse's message would quote it.
  writeFileSync(path.join(dir, 'password'), 'hunter2-mqtt-pass\n');
  t.throws(() => loadModelCard(path.join(dir, 'password')), { message: /password: not JSON$/ });
  const bad = JSON.parse(readFileSync(fixture, 'utf8'));
  bad.input.channels = 2;
  bad.labels = ['only-one'];
  writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(bad));
  t.throws(() => loadModelCard(path.join(dir, 'bad.onnx')), { message: /bad\.json: input\.channels: .*; labels: / });
  const offsets = JSON.parse(readFileSync(fixture, 'utf8'));
  offsets.output.logit_offsets = [0, -0.5];
  writeFileSync(path.join(dir, 'offsets.json'), JSON.stringify(offsets));
  t.throws(() => loadModelCard(path.join(dir, 'offsets.onnx')), { message: /offsets\.json: output\.logit_offsets: one logit offset per label/ });
  offsets.output = { ...offsets.output, activation: 'none', logit_offsets: [0, 0, 0, -0.5] };
  writeFileSync(path.join(dir, 'raw.json'), JSON.stringify(offsets));
  t.throws(() => loadModelCard(path.join(dir, 'raw.onnx')), { message: /raw\.json: output\.logit_offsets: logit offsets need logits/ });
  const levels = JSON.parse(readFileSync(fixture, 'utf8'));
  levels.input.crop.levels = { mean: [180, 70], std: [30, 0], max_gain: 0.5 };
  writeFileSync(path.join(dir, 'levels.json'), JSON.stringify(levels));
  t.throws(() => loadModelCard(path.join(dir, 'levels.onnx')), { message: /levels\.json: input\.crop\.levels\.mean: low end first; input\.crop\.levels\.std\.1: .*; input\.crop\.levels\.max_gain: / });
  writeFileSync(path.join(dir, 'garbled.json'), '{"name": ');
  t.throws(() => loadModelCard(path.join(dir, 'garbled.onnx')), { message: /garbled\.json: .*JSON/ });
});
