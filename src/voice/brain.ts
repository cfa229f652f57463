import OpenAI from 'openai';
import type { Config } from '../config/schema.js';
import { OwnMessageError } from '../runtime/errors.js';

type VoiceConfig = Config['voice'];

/** The emotion the robot sees, as context for what it says. Only this and the transcript leave the robot. */
export interface SeenEmotion {
  label: string;
  confidence: number;
  /** How long the person has looked like this. */
  forMs: number;
}

export interface ReplyRequest {
  /** What the person said; absent when the robot speaks up because of how they look. */
  userText?: string;
  emotion?: SeenEmotion;
  /** Earlier emotions, oldest first. */
  recentEmotions: string[];
}

export class TimeoutError extends OwnMessageError {
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** The endpoint answered with something that is not a chat completion stream. */
export class ReplyError extends OwnMessageError {
  constructor(endpoint: string, cause: unknown) {
    // Not the parser's message, which quotes the reply.
    super(`${endpoint}: malformed reply stream (not JSON)`, { cause });
    this.name = 'ReplyError';
  }
}

/**
 * The language model side of the conversation: a persona, what the robot sees, a bounded memory of
 * the last exchanges, and a streamed reply. Works with any OpenAI-compatible endpoint.
 */
export class ChatBrain {
  private readonly client: OpenAI;
  private readonly memory: { user: string; assistant: string }[] = [];

  constructor(
    private readonly config: VoiceConfig,
    apiKey: string,
  ) {
    // One retry inside the SDK (with its backoff) for 429/5xx; beyond that the circuit breaker decides.
    // logLevel off: the SDK would write a chunk it cannot parse, the reply's text, to stderr and the journal.
    this.client = new OpenAI({ apiKey, baseURL: config.openai_base_url, maxRetries: 1, logLevel: 'off' });
  }

  messages(request: ReplyRequest): OpenAI.Chat.ChatCompletionMessageParam[] {
    const seeing = request.emotion
      ? `Right now the person looks ${request.emotion.label} (${Math.round(request.emotion.confidence * 100)}% sure), for ${Math.round(request.emotion.forMs / 1000)} s.`
      : 'Nobody is in view right now.';
    const before = request.recentEmotions.length ? ` Before that they looked ${request.recentEmotions.join(', then ')}.` : '';
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'system', content: `${this.config.llm.persona}\n${seeing}${before}` }];
    for (const turn of this.memory) messages.push({ role: 'user', content: turn.user }, { role: 'assistant', content: turn.assistant });
    messages.push({ role: 'user', content: request.userText ?? `(The person has not said anything. Say one short, kind sentence about how they seem.)` });
    return messages;
  }

  /**
   * Streams the reply's text. Throws TimeoutError when the first token is late, OpenAI.APIError for
   * HTTP and connection failures, ReplyError for a malformed stream, and stops (APIUserAbortError)
   * when `signal` fires, e.g. because the person started talking over the robot.
   */
  async *reply(request: ReplyRequest, signal: AbortSignal): AsyncGenerator<string> {
    const { llm } = this.config;
    const firstToken = new AbortController();
    const timer = setTimeout(() => firstToken.abort(new TimeoutError(`${this.config.openai_base_url} (${llm.model})`, llm.timeout_ms)), llm.timeout_ms);
    const both = AbortSignal.any([signal, firstToken.signal]);
    try {
      const stream = await this.client.chat.completions.create(
        { model: llm.model, messages: this.messages(request), max_tokens: llm.max_tokens, temperature: llm.temperature, stream: true },
        { signal: both },
      );
      for await (const chunk of stream) {
        // Typed by the SDK, but whatever JSON the endpoint sent: only a string content is text.
        const content: unknown = (chunk as Partial<typeof chunk> | null)?.choices?.[0]?.delta?.content;
        const piece = typeof content === 'string' ? content : '';
        if (!piece) continue;
        clearTimeout(timer);
        yield piece;
      }
      // The SDK ends a stream quietly when it is aborted: a timeout must still be an error.
      if (firstToken.signal.aborted && !signal.aborted) throw firstToken.signal.reason as Error;
    } catch (err) {
      if (firstToken.signal.aborted && !signal.aborted) throw firstToken.signal.reason as Error;
      // HTTP statuses, connection failures and aborts come typed from the SDK, a connection dropped
      // mid-stream as the runtime's own error; a chunk that is not JSON means the endpoint spoke
      // something other than a chat completion stream.
      if (err instanceof SyntaxError) throw new ReplyError(this.config.openai_base_url, err);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * An exchange for the next replies to build on. What the robot said, which is not always what it
   * was given: a reply cut off by the person talking over it happened as far as it was said.
   */
  remember(user: string, assistant: string): void {
    this.memory.push({ user, assistant });
    while (this.memory.length > this.config.llm.memory_turns) this.memory.shift();
  }
}
