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
import { assertRate, type Budget, type BudgetBank, type BudgetDecision } from "./rate_limit.ts";

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

/** Options of {@linkcode callerLimiter}. */
export interface CallerLimitOptions {
  /** Requests per second of a whole tenant; burst twice that. */
  tenantRatePerSecond: number;
  /** Requests per second of one caller (tenant and sub); burst twice that. */
  callerRatePerSecond: number;
  /** The part of the tenant's rate all its visitors together may spend; 0.5 by default. */
  visitorShare?: number;
}

interface CallerBudget {
  scope: RateScope;
  /** Put before the caller's key: the bucket's name. */
  name: string;
  ratePerSecond: number;
  burst: number;
  /** The caller's key in this budget; null: the budget is not the caller's to spend. */
  key: (caller: RateCaller) => string | null;
}

/**
 * The per-caller limits at `options`' rates, their buckets in `bank`: one
 * spend per request, so a bank in Redis answers in one round trip.
 */
export function callerLimiter(bank: BudgetBank, options: CallerLimitOptions): CallerRateLimiter {
  const share = options.visitorShare ?? 0.5;
  if (!(share > 0 && share <= 1)) throw new RangeError("visitorShare must be in (0, 1]");
  const budget = (name: string, ratePerSecond: number) => {
    const rate = { ratePerSecond, burst: Math.max(1, ratePerSecond * 2) };
    assertRate(rate);
    return { name, ...rate };
  };
  const budgets: CallerBudget[] = [
    {
      scope: "caller",
      ...budget("rl-caller", options.callerRatePerSecond),
      // JSON keeps (tenant, sub) pairs apart whatever characters a sub holds.
      key: (caller) => JSON.stringify([caller.tenant, caller.sub]),
    },
    {
      scope: "visitors",
      ...budget("rl-visitors", options.tenantRatePerSecond * share),
      key: (caller) => caller.role === "visitor" ? caller.tenant : null,
    },
    {
      scope: "tenant",
      ...budget("rl", options.tenantRatePerSecond),
      key: (caller) => caller.tenant,
    },
  ];
  return {
    take(caller) {
      const spent: Budget[] = [];
      const scopes: RateScope[] = [];
      for (const { scope, name, ratePerSecond, burst, key } of budgets) {
        const of = key(caller);
        if (of === null) continue;
        spent.push({ key: `${name}:${of}`, ratePerSecond, burst });
        scopes.push(scope);
      }
      const decided = (decision: BudgetDecision): CallerDecision =>
        decision.allowed ? decision : {
          allowed: false,
          retryAfterMs: decision.retryAfterMs,
          scope: scopes[decision.refused],
        };
      const decision = bank.spend(spent);
      return decision instanceof Promise ? decision.then(decided) : decided(decision);
    },
  };
}
