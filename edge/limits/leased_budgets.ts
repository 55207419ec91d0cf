/**
 * Budgets spent from leases: an edge takes several tokens of a shared budget
 * in one round trip and spends them in memory until they run out or their
 * lease ends, so most requests ask nobody.
 *
 * @example
 * ```ts
 * const bank = new LeasedBudgetBank(new RedisBudgetBank({ redis, prefix: "sb:" }));
 * await bank.spend([{ key: "caller:alice", ratePerSecond: 50, burst: 100 }]);
 * ```
 *
 * @module
 */
import type {
  Budget,
  BudgetBank,
  BudgetDecision,
  BudgetLender,
  LeaseDecision,
} from "./rate_limit.ts";

/** Options of {@linkcode LeasedBudgetBank}. */
export interface LeasedBudgetBankOptions {
  /** How long leased tokens may be spent; what is left then is dropped. 5,000 ms by default. */
  leaseMs?: number;
  /** The current time in epoch ms; `Date.now` by default. */
  now?: () => number;
}

interface Lease {
  tokens: number;
  expiresAt: number;
  /** Tokens spent from it: the demand of one lease, which sizes the next. */
  spent: number;
  granted: number;
}

/**
 * A {@linkcode BudgetBank} that spends from leases of `lender`'s budgets.
 *
 * Leased tokens are taken out of the shared budget first, so edges together
 * never spend more than it allows; what a lease leaves unspent when it ends
 * is lost to the budget, which only ever refuses early, never lets through
 * too much. A lease is sized by the demand this edge saw in its last one:
 * one token at first, twice as many each time one runs out before its end,
 * and never more than a lease's worth of the budget's rate or a quarter of
 * its burst. So a budget shared by several edges is split by their demand,
 * and one spent on one edge alone costs a round trip per lease, not per
 * request. The order of spending is the lender's: budgets up to the first
 * that has none are spent, the ones after it are not touched.
 */
export class LeasedBudgetBank implements BudgetBank {
  #lender: BudgetLender;
  #leaseMs: number;
  #now: () => number;
  #leases = new Map<string, Lease>();
  #sweptAt: number;

  constructor(lender: BudgetLender, options: LeasedBudgetBankOptions = {}) {
    this.#lender = lender;
    this.#leaseMs = options.leaseMs ?? 5000;
    if (!(this.#leaseMs > 0)) throw new RangeError("leaseMs must be positive");
    this.#now = options.now ?? Date.now;
    this.#sweptAt = this.#now();
  }

  /** How many budgets this bank holds a lease of, or remembers one for sizing. */
  get size(): number {
    return this.#leases.size;
  }

  spend(budgets: readonly Budget[]): BudgetDecision | Promise<BudgetDecision> {
    const now = this.#now();
    this.#sweep(now);
    // Spend what the leases hold now, before any await lets another request
    // take the same tokens; what the lender refuses gives some of them back.
    const short: number[] = [];
    const reserved: (Lease | undefined)[] = [];
    for (let i = 0; i < budgets.length; i++) {
      const lease = this.#leases.get(budgets[i].key);
      if (lease && lease.tokens >= 1 && now < lease.expiresAt) {
        lease.tokens--;
        lease.spent++;
        reserved.push(lease);
      } else {
        short.push(i);
        reserved.push(undefined);
      }
    }
    if (short.length === 0) return { allowed: true };
    return this.#renew(budgets, short, reserved, now);
  }

  async #renew(
    budgets: readonly Budget[],
    short: number[],
    reserved: (Lease | undefined)[],
    now: number,
  ): Promise<BudgetDecision> {
    let decision: LeaseDecision;
    try {
      decision = await this.#lender.lease(
        short.map((i) => ({ ...budgets[i], want: this.#want(budgets[i], now) })),
      );
    } catch (error) {
      this.#giveBack(reserved, 0);
      throw error;
    }
    const at = this.#now();
    decision.granted.forEach((granted, j) => this.#lease(budgets[short[j]].key, granted, at));
    if (decision.allowed) return { allowed: true };
    const refused = short[decision.refused];
    this.#giveBack(reserved, refused + 1);
    return { allowed: false, retryAfterMs: decision.retryAfterMs, refused };
  }

  // One of the granted tokens is this request's; the rest, and whatever the
  // current lease still holds, make the new lease.
  #lease(key: string, granted: number, now: number): void {
    const current = this.#leases.get(key);
    const left = current && now < current.expiresAt ? current.tokens : 0;
    this.#leases.set(key, {
      tokens: left + granted - 1,
      expiresAt: now + this.#leaseMs,
      spent: 1,
      granted,
    });
  }

  #giveBack(reserved: (Lease | undefined)[], from: number): void {
    for (let i = from; i < reserved.length; i++) {
      const lease = reserved[i];
      if (!lease) continue;
      lease.tokens++;
      lease.spent--;
    }
  }

  #want({ key, ratePerSecond, burst }: Budget, now: number): number {
    const most = Math.max(
      1,
      Math.min(Math.floor((ratePerSecond * this.#leaseMs) / 1000), Math.floor(burst / 4)),
    );
    const lease = this.#leases.get(key);
    if (!lease) return 1;
    const demand = now < lease.expiresAt ? lease.granted * 2 : lease.spent;
    return Math.min(most, Math.max(1, demand));
  }

  // A lease ended a lease ago is no guide to the demand any more. Looked for
  // once a lease, as a scan per request would cost more than the request.
  #sweep(now: number): void {
    if (now - this.#sweptAt < this.#leaseMs) return;
    this.#sweptAt = now;
    for (const [key, lease] of this.#leases) {
      if (now - lease.expiresAt >= this.#leaseMs) this.#leases.delete(key);
    }
  }
}
