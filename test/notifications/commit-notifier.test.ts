import { describe, expect, it } from "vitest";
import { BROADCAST_INTERVAL_MS, CommitNotifier } from "../../src/notifications/commit-notifier.js";
import { sleep } from "../support/eventually.js";

/** A notifier whose broadcasts take `ms` and are counted. */
function counting(ms = 1) {
  const sent: number[] = [];
  const notifier = new CommitNotifier(async () => {
    sent.push(performance.now());
    await sleep(ms);
  }, (error) => {
    throw error;
  });
  return { notifier, sent };
}

describe("CommitNotifier", () => {
  it("broadcasts a commit after a quiet spell at once", async () => {
    const { notifier, sent } = counting();
    const started = performance.now();
    notifier.committed();
    expect(sent).toHaveLength(1);
    expect(sent[0]! - started).toBeLessThan(BROADCAST_INTERVAL_MS);
    await notifier.drained();
  });

  it("folds a burst of commits into few broadcasts, spaced by the interval, the last one after the last commit", async () => {
    const { notifier, sent } = counting();
    const started = performance.now();
    let lastCommit = 0;
    while (performance.now() - started < 50) {
      notifier.committed();
      lastCommit = performance.now();
      await sleep(0);
    }
    await sleep(3 * BROADCAST_INTERVAL_MS);
    // One per interval at most (Node's timers run on a clock that may lag performance.now() by a
    // millisecond or two, so they can seem early), and one after the last commit, so none goes unheard.
    const gap = BROADCAST_INTERVAL_MS - 2;
    expect(sent.length).toBeLessThanOrEqual(Math.ceil((lastCommit - started) / gap) + 2);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.at(-1)!).toBeGreaterThanOrEqual(lastCommit);
    for (let i = 1; i < sent.length; i++) expect(sent[i]! - sent[i - 1]!).toBeGreaterThanOrEqual(gap);
  });

  it("tells local listeners of every commit, and drained() sends a waiting broadcast at once", async () => {
    const { notifier, sent } = counting();
    let heard = 0;
    const stop = notifier.onCommit(() => heard++);
    notifier.committed();
    await notifier.drained();
    // Within the interval it waits for its turn; a machine too busy to call it in time sees it sent.
    const elapsed = performance.now() - sent[0]!;
    notifier.committed();
    if (elapsed < BROADCAST_INTERVAL_MS - 1) expect(sent).toHaveLength(1);
    if (elapsed >= BROADCAST_INTERVAL_MS) expect(sent).toHaveLength(2);
    const drainStarted = performance.now();
    await notifier.drained();
    expect(sent).toHaveLength(2);
    expect(performance.now() - drainStarted).toBeLessThan(BROADCAST_INTERVAL_MS + 50);
    stop();
    notifier.committed();
    await notifier.drained();
    expect(heard).toBe(2);
  });
});
