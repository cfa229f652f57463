import { leaves } from '../config/overlay.js';
import { excerpt } from '../runtime/errors.js';
import { jsonLine } from '../runtime/printable.js';
import { loadConfigOrReport } from './load-config.js';

/**
 * `emobot config check`: validates the file and the remote overlay over it, then shows every key's
 * effective value and where it comes from (the file, remote control's overlay, or the default).
 */
export function configCheckCommand(file: string | undefined): number {
  const loaded = loadConfigOrReport(file);
  if (!loaded) return 1;
  const overlaid = new Set(loaded.overlaid ?? []);
  const fromFile = loaded.fromFile ?? [];
  const setInFile = (key: string) => fromFile.some((k) => k === key || key.startsWith(`${k}.`) || k.startsWith(`${key}.`));
  const rows = leaves(loaded.config as unknown as Record<string, unknown>).map(([path, value]) => {
    const key = path.join('.');
    const source = overlaid.has(key) ? 'remote' : setInFile(key) ? 'file' : 'default';
    return `${key} = ${excerpt(jsonLine(value), 70)}  [${source}]`;
  });
  process.stdout.write(`${loaded.file}: OK${loaded.overlayFile ? ` (remote changes: ${loaded.overlayFile}${overlaid.size ? `, ${overlaid.size} key(s)` : ', none'})` : ''}\n${rows.join('\n')}\n`);
  return 0;
}
