// Results of commands that reached the device, by requestId, so a duplicate (a client retrying
// after a lost result) gets the first result again instead of a second write.

const MAX_ENTRIES = 10_000;
const KEEP_MS = 3_600_000;

export class RequestCache<T> {
  private readonly entries = new Map<string, { at: number; result: Promise<T> }>();

  get(key: string, now = Date.now()): Promise<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now - entry.at > KEEP_MS) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.result;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  set(key: string, result: Promise<T>, now = Date.now()): void {
    this.entries.set(key, { at: now, result });
    // Maps iterate in insertion order: the first keys are the oldest.
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }
}
