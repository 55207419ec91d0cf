/**
 * Per-caller rate limits: each request spends, in order, its caller's own
 * budget (tenant and `sub`), then — for visitors — the budget all of the
 * tenant's visitors share, then the tenant's. The first budget that refuses
 * answers, and the later ones are not touched, so a caller over its own rate
 * spends nobody else's; and since the visitors' budget is a share of the
 * tenant's, visitors together can never leave the tenant's staff without.
 *
 * @module
 */
import type { RateDecision, RateLimiter } from "./rate_limit.ts";

/** Who a request is from, as far as rate limits care. */
export interface RateCaller {
  tenant: string;
  sub: string;
  role: string;
}

/** Which budget refused a request. */
export type RateScope = "caller" | "visitors" | "tenant";

/** A decision, naming the budget that refused when it knows. */
export type CallerDecision = { allowed: true } | {
  allowed: false;
  retryAfterMs: number;
  scope?: RateScope;
};

/** Decides whether a caller's request may go ahead. */
export interface CallerRateLimiter {
  take(caller: RateCaller): CallerDecision | Promise<CallerDecision>;
}

/** Makes a limiter of one rate, its keys under `name`. */
export type LimiterFactory = (name: string, ratePerSecond: number, burst: number) => RateLimiter;

/** Options of {@linkcode callerLimiter}. */
export interface CallerLimitOptions {
  /** Requests per second of a whole tenant; burst twice that. */
  tenantRatePerSecond: number;
  /** Requests per second of one caller (tenant and sub); burst twice that. */
  callerRatePerSecond: number;
  /** The part of the tenant's rate all its visitors together may spend; 0.5 by default. */
  visitorShare?: number;
}

/** The per-caller limits at `options`' rates, with buckets made by `make`. */
export function callerLimiter(
  make: LimiterFactory,
  options: CallerLimitOptions,
): CallerRateLimiter {
  const share = options.visitorShare ?? 0.5;
  if (!(share > 0 && share <= 1)) throw new RangeError("visitorShare must be in (0, 1]");
  const bucket = (name: string, rate: number) => make(name, rate, Math.max(1, rate * 2));
  const budgets: {
    scope: RateScope;
    limiter: RateLimiter;
    key: (caller: RateCaller) => string | null;
  }[] = [
    {
      scope: "caller",
      limiter: bucket("rl-caller", options.callerRatePerSecond),
      // JSON keeps (tenant, sub) pairs apart whatever characters a sub holds.
      key: (caller) => JSON.stringify([caller.tenant, caller.sub]),
    },
    {
      scope: "visitors",
      limiter: bucket("rl-visitors", options.tenantRatePerSecond * share),
      key: (caller) => caller.role === "visitor" ? caller.tenant : null,
    },
    {
      scope: "tenant",
      limiter: bucket("rl", options.tenantRatePerSecond),
      key: (caller) => caller.tenant,
    },
  ];
  return {
    async take(caller) {
      for (const { scope, limiter, key } of budgets) {
        const of = key(caller);
        if (of === null) continue;
        const decision: RateDecision = await limiter.take(of);
        if (!decision.allowed) return { ...decision, scope };
      }
      return { allowed: true };
    },
  };
}
