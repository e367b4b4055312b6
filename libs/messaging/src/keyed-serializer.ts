/**
 * Runs tasks with the same key one after another, in submission order; different keys run concurrently.
 * Keeps one sender's events for one identifier in order while identity look-ups are in flight: a task's
 * promise should settle once its event has been handed to JetStream (not once it is acknowledged), since
 * one connection delivers publishes to the server in the order they were issued.
 */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** true when nothing runs or waits for this key: a caller may then act synchronously without overtaking. */
  isIdle(key: string): boolean {
    return !this.tails.has(key);
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    const next = previous ? previous.then(task, task) : task();
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
