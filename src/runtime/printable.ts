/**
 * Control characters (C0, DEL, C1) and the line separators some readers split on, as `\uXXXX` text.
 * Text from outside (a config value set over MQTT, a foreign file's keys, another client's state)
 * ends up on an owner's terminal, where an escape sequence (ESC, or U+009B, a CSI to many terminals)
 * would move the cursor over other lines, retitle the window or write the clipboard.
 */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value as one line of JSON that a terminal shows as text: JSON.stringify escapes C0 but not DEL or C1. */
export function jsonLine(value: unknown): string {
  return escapeControls(JSON.stringify(value) ?? 'undefined');
}
