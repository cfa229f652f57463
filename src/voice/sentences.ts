import { UNSPEAKABLE_CHARACTERS } from '../config/schema.js';

/** Words whose trailing period does not end a sentence. */
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'vs', 'etc', 'e.g', 'i.e', 'approx', 'no', 'jr', 'sr']);

/** Characters that end a sentence when whitespace follows them. */
const SENTENCE_ENDS = '.!?…';

/** Longer than any sentence a voice reads well; a reply that never ends one is cut at a space before this. */
export const MAX_SENTENCE_LENGTH = 300;

/** Where to cut `text` at `end` or just before, so as not to split a character written as two UTF-16 units (an emoji). */
export function wholeCharactersEnd(text: string, end: number): number {
  const last = text.charCodeAt(end - 1);
  return end > 0 && end < text.length && last >= 0xd800 && last <= 0xdbff ? end - 1 : end;
}

/**
 * Cuts streamed text into sentences as soon as each one is complete, so speech synthesis can start on
 * the first sentence while the language model is still writing the rest. Each piece is scanned once
 * (a stream of tiny pieces without a sentence end costs no more than one whole piece), and a sentence
 * is never longer than MAX_SENTENCE_LENGTH, whatever the endpoint sends.
 */
export class SentenceSplitter {
  private buffer = '';
  /** Where the scan goes on: the last character before it may end a sentence once the next one comes. */
  private scanned = 0;

  /** Adds streamed text; returns the sentences it completed. */
  push(text: string): string[] {
    this.buffer += text.replaceAll(UNSPEAKABLE_CHARACTERS, ' ');
    const sentences: string[] = [];
    let start = 0;
    const cut = (end: number) => {
      const sentence = this.buffer.slice(start, end).trim();
      if (sentence) sentences.push(sentence);
      start = end;
    };
    for (let i = Math.max(0, this.scanned - 1); i < this.buffer.length; i++) {
      const c = this.buffer[i]!;
      const next = this.buffer[i + 1];
      const ends = c === '\n' || (SENTENCE_ENDS.includes(c) && next !== undefined && /\s/.test(next) && !this.isAbbreviation(start, i));
      if (ends) cut(i + 1);
      // A sentence end as the last character so far is decided with the next piece, as any other.
      else if (i + 1 - start >= MAX_SENTENCE_LENGTH && !(next === undefined && SENTENCE_ENDS.includes(c))) {
        const space = this.buffer.slice(start, i + 1).lastIndexOf(' ');
        cut(space > 0 ? start + space + 1 : wholeCharactersEnd(this.buffer, i + 1));
      }
    }
    this.buffer = this.buffer.slice(start);
    this.scanned = this.buffer.length;
    return sentences;
  }

  /** The rest, at the end of the stream. */
  flush(): string[] {
    const rest = this.buffer.trim();
    this.buffer = '';
    this.scanned = 0;
    return rest ? [rest] : [];
  }

  private isAbbreviation(start: number, dot: number): boolean {
    if (this.buffer[dot] !== '.') return false;
    const word = /([A-Za-z.]+)$/.exec(this.buffer.slice(start, dot))?.[1]?.toLowerCase();
    return word !== undefined && (ABBREVIATIONS.has(word) || /^[a-z]$/.test(word));
  }
}
