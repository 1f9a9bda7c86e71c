// CONNECT attempts per remote address: a token bucket per address, refilled every second.
export class ConnectRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** @param perSecond attempts allowed per second (and burst); 0 disables the limit. */
  constructor(private readonly perSecond: number) {}

  /** Takes one token for `address`; false when the address is over its rate. */
  allow(address: string, now: number): boolean {
    if (this.perSecond === 0) return true;
    let bucket = this.buckets.get(address);
    if (!bucket) {
      // Bounded memory under a spray of addresses: old buckets are full anyway.
      if (this.buckets.size >= 100_000) this.sweep(now);
      bucket = { tokens: this.perSecond, at: now };
      this.buckets.set(address, bucket);
    }
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets addresses whose bucket has refilled. */
  sweep(now: number): void {
    for (const [address, bucket] of this.buckets) if (now - bucket.at > 1000) this.buckets.delete(address);
  }
}
