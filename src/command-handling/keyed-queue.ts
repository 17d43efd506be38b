/**
 * Runs work one at a time per key, in the order it was queued, and different keys at once. Each
 * piece of work gets what the one before it under the same key returned (undefined when that one
 * failed or the queue was empty). A repository queues the commands of one stream here, so commands
 * of the same process never race each other for the stream's next version, and each starts from
 * the state the previous one left instead of loading the stream again.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `work` after the work queued before it under `key`. */
  run<T>(key: string, work: (previous: unknown) => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve(undefined);
    const result = before.then(work);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
