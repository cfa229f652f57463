/** Words whose trailing period does not end a sentence. */
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'vs', 'etc', 'e.g', 'i.e', 'approx', 'no', 'jr', 'sr']);

/**
 * Cuts streamed text into sentences as soon as each one is complete, so speech synthesis can start on
 * the first sentence while the language model is still writing the rest.
 */
export class SentenceSplitter {
  private buffer = '';

  /** Adds streamed text; returns the sentences it completed. */
  push(text: string): string[] {
    this.buffer += text;
    const sentences: string[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i]!;
      const next = this.buffer[i + 1];
      const ends = c === '\n' || ('.!?…'.includes(c) && next !== undefined && /\s/.test(next) && !this.isAbbreviation(start, i));
      if (!ends) continue;
      // Keep closing quotes and brackets with their sentence.
      const sentence = this.buffer.slice(start, i + 1).trim();
      if (sentence) sentences.push(sentence);
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return sentences;
  }

  /** The rest, at the end of the stream. */
  flush(): string[] {
    const rest = this.buffer.trim();
    this.buffer = '';
    return rest ? [rest] : [];
  }

  private isAbbreviation(start: number, dot: number): boolean {
    if (this.buffer[dot] !== '.') return false;
    const word = /([A-Za-z.]+)$/.exec(this.buffer.slice(start, dot))?.[1]?.toLowerCase();
    return word !== undefined && (ABBREVIATIONS.has(word) || /^[a-z]$/.test(word));
  }
}
