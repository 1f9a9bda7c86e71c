// CONNECT attempts per remote address: a token bucket per address, refilled every second. A
// CONNECT over the rate waits for its turn, up to a bound, rather than being refused at once: a
// reconnect storm of a plant behind one address (a normal event) gets in at the rate, while a
// flood beyond the backlog is refused. Many clients (MQTT.js by default) never retry a refusal.
export class ConnectRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /**
   * @param perSecond attempts allowed per second (and burst); 0 disables the limit.
   * @param maxWaitMs the longest a CONNECT may wait for its turn; 0 refuses at once.
   */
  constructor(
    private readonly perSecond: number,
    private readonly maxWaitMs: number,
  ) {}

  /**
   * Takes a turn for `address`: the milliseconds to wait before the CONNECT goes ahead (0: now),
   * or null when the address's backlog is full (the CONNECT is refused and takes no turn).
   */
  admit(address: string, now: number): number | null {
    if (this.perSecond === 0) return 0;
    let bucket = this.buckets.get(address);
    if (!bucket) {
      // Bounded memory under a spray of addresses: old buckets are full anyway.
      if (this.buckets.size >= 100_000) this.sweep(now);
      bucket = { tokens: this.perSecond, at: now };
      this.buckets.set(address, bucket);
    }
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    // Tokens below zero are turns promised to waiting CONNECTs.
    const waitMs = bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000);
    if (waitMs > this.maxWaitMs) return null;
    bucket.tokens -= 1;
    return waitMs;
  }

  /** Gives back a turn taken by a CONNECT whose client left before it (it would otherwise hold up the next ones). */
  release(address: string): void {
    const bucket = this.buckets.get(address);
    if (bucket) bucket.tokens = Math.min(this.perSecond, bucket.tokens + 1);
  }

  /** Forgets addresses whose bucket has refilled. */
  sweep(now: number): void {
    for (const [address, bucket] of this.buckets) {
      const refillMs = ((this.perSecond - bucket.tokens) / this.perSecond) * 1000;
      if (now - bucket.at > refillMs) this.buckets.delete(address);
    }
  }
}
