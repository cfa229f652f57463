import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures');

/**
 * A copy of the tiny fixture model (its 4 logits are the 4 normalised pixels of a 2x2 gray input)
 * with a model card changed by `edit`, in a fresh folder.
 */
export function tinyModel(edit: (card: Record<string, any>) => void = () => undefined): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'emobot-model-'));
  const model = path.join(dir, 'tiny.onnx');
  copyFileSync(path.join(fixtures, 'tiny-flatten.onnx'), model);
  const card = JSON.parse(readFileSync(path.join(fixtures, 'tiny-flatten.json'), 'utf8')) as Record<string, any>;
  edit(card);
  writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify(card));
  return model;
}
