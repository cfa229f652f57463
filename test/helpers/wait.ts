import { setTimeout as sleep } from 'node:timers/promises';

/** Polls until `predicate` holds, running `poll` between checks; fails with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000, poll?: () => Promise<unknown>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await (poll ? poll() : sleep(20));
    if (poll && !predicate()) await sleep(20);
  }
}
