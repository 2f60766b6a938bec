// Per-token rate limits on the TCP listener: requests a minute, and model tokens (prompt and output,
// as the gateway records them) a minute. Each is a token bucket that holds a minute's worth and
// refills continuously, so a burst up to the limit passes and a steady rate above it is refused
// with 429 and the seconds until the next request would pass (Retry-After). Kept in memory, per
// token name: a service restart starts every bucket full.
export interface Limits {
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
}

class Bucket {
  private level: number;
  private at: number;

  constructor(
    private readonly perMinute: number,
    now: number,
  ) {
    this.level = perMinute;
    this.at = now;
  }

  private refill(now: number): void {
    this.level = Math.min(this.perMinute, this.level + ((now - this.at) / 60_000) * this.perMinute);
    this.at = now;
  }

  /** Takes `n` when at least one unit is there (the level may go below zero: a big request passes once). */
  take(n: number, now: number): number | undefined {
    this.refill(now);
    if (this.level < 1) return this.secondsToOne();
    this.level -= n;
    return undefined;
  }

  /** Seconds until a unit is there, or undefined when one is now. */
  wait(now: number): number | undefined {
    this.refill(now);
    return this.level < 1 ? this.secondsToOne() : undefined;
  }

  /** Whole seconds until the level is back to one (the rounding error of the refill left out). */
  private secondsToOne(): number {
    return Math.max(1, Math.ceil(((1 - this.level) / this.perMinute) * 60 - 1e-6));
  }

  spend(n: number, now: number): void {
    this.refill(now);
    this.level -= n;
  }
}

export class RateLimiter {
  private readonly requests = new Map<string, Bucket>();
  private readonly tokens = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  private bucket(map: Map<string, Bucket>, name: string, perMinute: number): Bucket {
    let b = map.get(name);
    if (!b) map.set(name, (b = new Bucket(perMinute, this.now())));
    return b;
  }

  /**
   * Counts one request of `name`; answers the seconds to wait when it is over a limit (the model
   * token limit applies to requests that generate: `generates`).
   */
  admit(name: string, limits: Limits | undefined, generates: boolean): { limit: string; retryAfter: number } | undefined {
    if (!limits) return undefined;
    const now = this.now();
    if (generates && limits.tokensPerMinute) {
      const wait = this.bucket(this.tokens, name, limits.tokensPerMinute).wait(now);
      if (wait !== undefined) return { limit: `${limits.tokensPerMinute} model tokens a minute`, retryAfter: wait };
    }
    if (limits.requestsPerMinute) {
      const wait = this.bucket(this.requests, name, limits.requestsPerMinute).take(1, now);
      if (wait !== undefined) return { limit: `${limits.requestsPerMinute} requests a minute`, retryAfter: wait };
    }
    return undefined;
  }

  /** Model tokens a generation of `name` used (prompt and output). */
  spend(name: string, limits: Limits | undefined, tokens: number): void {
    if (limits?.tokensPerMinute && tokens > 0) this.bucket(this.tokens, name, limits.tokensPerMinute).spend(tokens, this.now());
  }

  /** Forgets a token's buckets (revoked, or its limits changed). */
  forget(name: string): void {
    this.requests.delete(name);
    this.tokens.delete(name);
  }
}
