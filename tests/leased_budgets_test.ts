// Leased budgets: on the real Redis, what edges spending from leases may
// spend together and how many round trips it takes; with a scripted lender,
// the order of spending when a budget refuses or the lender fails.
import { assert, assertEquals, assertLessOrEqual, assertRejects } from "@std/assert";
import { LeasedBudgetBank } from "../edge/limits/leased_budgets.ts";
import type { BudgetLender, LeaseDecision, LeaseRequest } from "../edge/limits/rate_limit.ts";
import { RedisBudgetBank } from "../edge/limits/redis_rate_limiter.ts";
import { recordCommands, withRedis } from "./_support/redis_fixture.ts";

// At 0.01 tokens/s the test's own milliseconds refill nothing worth counting;
// a lease as long as the test makes the cap a quarter of the burst.
const slow = { ratePerSecond: 0.01 };
const forever = 1e9;

Deno.test("leased budgets: a lease doubles while it runs out, up to a quarter of the burst, so 400 requests take 9 round trips", async () => {
  await withRedis(async ({ prefix, redis }) => {
    const connection = await redis();
    const commands = recordCommands(connection);
    const bank = new LeasedBudgetBank(new RedisBudgetBank({ redis: connection, prefix }), {
      leaseMs: forever,
    });
    const budget = { key: "caller", ...slow, burst: 1000 };
    for (let i = 0; i < 400; i++) assertEquals(await bank.spend([budget]), { allowed: true });
    // 1 + 2 + 4 + … + 128 = 255, then 250 (the cap) where 256 would be next.
    // The first command is refused as NOSCRIPT by a Redis that never ran it.
    assertEquals(commands.filter((name) => name === "evalsha").length, 9);
    const tokens = Math.floor(Number(await connection.hget(`${prefix}caller`, "tokens")));
    assertEquals(tokens, 1000 - 505, "leased tokens leave the shared bucket at once");
  });
});

Deno.test("leased budgets: two edges together spend the budget exactly, never more", async () => {
  await withRedis(async ({ prefix, redis }) => {
    const edges = [await redis(), await redis()].map((connection) =>
      new LeasedBudgetBank(new RedisBudgetBank({ redis: connection, prefix }), {
        leaseMs: forever,
      })
    );
    const budget = { key: "tenant", ...slow, burst: 50 };
    const allowed = [0, 0];
    for (let round = 0; round < 60; round++) {
      for (const [i, edge] of edges.entries()) {
        if ((await edge.spend([budget])).allowed) allowed[i]++;
      }
    }
    assertEquals(allowed[0] + allowed[1], 50);
    assert(allowed[0] > 0 && allowed[1] > 0, "both edges got a share");
  });
});

Deno.test("leased budgets: what an ended lease left is dropped, and the next is sized by what it spent", async () => {
  await withRedis(async ({ prefix, redis }) => {
    const connection = await redis();
    let now = 0;
    const bank = new LeasedBudgetBank(new RedisBudgetBank({ redis: connection, prefix }), {
      leaseMs: forever,
      now: () => now,
    });
    const budget = { key: "caller", ...slow, burst: 100 };
    const tokens = async () =>
      Math.floor(Number(await connection.hget(`${prefix}caller`, "tokens")));
    // Leases of 1, 2 and 4: 7 tokens taken, 5 spent, 2 left in the lease.
    for (let i = 0; i < 5; i++) await bank.spend([budget]);
    assertEquals(await tokens(), 93);
    now += forever;
    // The ended lease spent 2 (its first and one more): the next lease is 2, not 8.
    assertEquals(await bank.spend([budget]), { allowed: true });
    assertEquals(await tokens(), 91);
  });
});

/** A lender answering from `answer`, recording what it was asked. */
function scriptedLender(answer: (asked: readonly LeaseRequest[]) => LeaseDecision) {
  const asked: string[][] = [];
  const lender: BudgetLender = {
    lease(budgets) {
      asked.push(budgets.map((budget) => budget.key));
      return Promise.resolve(answer(budgets));
    },
  };
  return { asked, lender };
}

Deno.test("leased budgets: a refusal spends the budgets before it and gives the later ones' tokens back", async () => {
  let visitorsEmpty = false;
  const { asked, lender } = scriptedLender((budgets) => {
    const refused = budgets.findIndex((budget) => budget.key === "visitors");
    if (visitorsEmpty && refused >= 0) {
      return { allowed: false, retryAfterMs: 500, refused, granted: Array(refused).fill(10) };
    }
    return { allowed: true, granted: budgets.map(() => 10) };
  });
  const bank = new LeasedBudgetBank(lender, { leaseMs: forever });
  const caller = { key: "caller", ratePerSecond: 100, burst: 200 };
  const visitors = { key: "visitors", ratePerSecond: 100, burst: 200 };
  const tenant = { key: "tenant", ratePerSecond: 100, burst: 200 };
  // Leases of 10 for the caller and the tenant, none for the visitors.
  assertEquals(await bank.spend([caller, tenant]), { allowed: true });
  visitorsEmpty = true;
  assertEquals(await bank.spend([caller, visitors, tenant]), {
    allowed: false,
    retryAfterMs: 500,
    refused: 1,
  });
  assertEquals(asked, [["caller", "tenant"], ["visitors"]], "only the short budget is asked");
  // The caller's lease paid for the refused request; the tenant's did not.
  for (let i = 0; i < 8; i++) assertEquals(bank.spend([caller]), { allowed: true });
  for (let i = 0; i < 9; i++) assertEquals(bank.spend([tenant]), { allowed: true });
  assertEquals(asked.length, 2, "all of that from the leases");
  await bank.spend([caller]);
  await bank.spend([tenant]);
  assertEquals(asked.slice(2), [["caller"], ["tenant"]], "both leases ran out together");
});

Deno.test("leased budgets: a lender that fails rejects the spend and keeps the leased tokens", async () => {
  let down = false;
  const { lender } = scriptedLender((budgets) => {
    if (down) throw new Error("Redis did not answer within 100 ms");
    return { allowed: true, granted: budgets.map(() => 3) };
  });
  const bank = new LeasedBudgetBank(lender, { leaseMs: forever });
  const caller = { key: "caller", ratePerSecond: 100, burst: 200 };
  const tenant = { key: "tenant", ratePerSecond: 100, burst: 200 };
  await bank.spend([caller]);
  down = true;
  await assertRejects(() => Promise.resolve(bank.spend([caller, tenant])), Error, "100 ms");
  assertEquals(bank.spend([caller]), { allowed: true });
  assertEquals(bank.spend([caller]), { allowed: true }, "the caller's lease of 3 is whole");
  await assertRejects(() => Promise.resolve(bank.spend([caller])));
});

Deno.test("leased budgets: leases ended a lease ago are forgotten", async () => {
  let now = 0;
  const { lender } = scriptedLender((budgets) => ({
    allowed: true,
    granted: budgets.map(() => 1),
  }));
  const bank = new LeasedBudgetBank(lender, { leaseMs: 1000, now: () => now });
  for (let i = 0; i < 100; i++) await bank.spend([{ key: `v${i}`, ratePerSecond: 5, burst: 10 }]);
  assertEquals(bank.size, 100);
  now += 2000;
  await bank.spend([{ key: "late", ratePerSecond: 5, burst: 10 }]);
  assertLessOrEqual(bank.size, 1);
});
