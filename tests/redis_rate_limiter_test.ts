// The Redis token bucket against the real Redis, each test under its own key
// prefix; and what the edge does when Redis is gone.
import {
  assert,
  assertEquals,
  assertGreater,
  assertLessOrEqual,
  assertMatch,
  assertObjectMatch,
  assertRejects,
} from "@std/assert";
import { Redis } from "ioredis";
import { createLogger } from "../cluster/telemetry/log.ts";
import {
  connectRedis,
  RedisBudgetBank,
  RedisRateLimiter,
} from "../edge/limits/redis_rate_limiter.ts";
import { callerLimiter } from "../edge/limits/caller_limits.ts";
import { MemoryBudgetBank } from "../edge/limits/rate_limit.ts";
import { recordCommands, withRedis } from "./_support/redis_fixture.ts";
import { harness } from "./_support/scripted_backend.ts";

Deno.test("redis limiter: allows the burst, then refuses with the wait until the next token", async () => {
  await withRedis(async ({ limiter }) => {
    const limit = await limiter(1, 3);
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limit.take("acme"));
    assertEquals(decisions.slice(0, 3), [{ allowed: true }, { allowed: true }, { allowed: true }]);
    const refused = decisions[3];
    assert(!refused.allowed);
    assertGreater(refused.retryAfterMs, 0);
    assertLessOrEqual(refused.retryAfterMs, 1000);
    assertEquals(await limit.take("other"), { allowed: true });
  });
});

Deno.test("redis limiter: a bucket refills at its rate", async () => {
  await withRedis(async ({ limiter }) => {
    const limit = await limiter(20, 1);
    assertEquals(await limit.take("acme"), { allowed: true });
    const refused = await limit.take("acme");
    assert(!refused.allowed);
    assertLessOrEqual(refused.retryAfterMs, 50);
    await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 10));
    assertEquals(await limit.take("acme"), { allowed: true });
  });
});

Deno.test("redis limiter: two edges share one bucket per key", async () => {
  await withRedis(async ({ limiter }) => {
    const [east, west] = [await limiter(0.1, 4), await limiter(0.1, 4)];
    const allowed = [];
    for (const edge of [east, west, east, west, east, west]) {
      allowed.push((await edge.take("acme")).allowed);
    }
    assertEquals(allowed, [true, true, true, true, false, false]);
  });
});

Deno.test("redis limiter: idle buckets expire once they would be full again", async () => {
  await withRedis(async ({ limiter, prefix, redis }) => {
    const limit = await limiter(100, 2);
    await limit.take("acme");
    const reader = await redis();
    const ttl = await reader.pttl(`${prefix}acme`);
    assertGreater(ttl, 0);
    assertLessOrEqual(ttl, 20);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assertEquals(await reader.exists(`${prefix}acme`), 0);
  });
});

Deno.test("redis limiter: a Redis that lost the script (a restart) loads it again", async () => {
  await withRedis(async ({ limiter, redis }) => {
    const limit = await limiter(1, 1);
    await (await redis()).script("FLUSH");
    assertEquals(await limit.take("acme"), { allowed: true });
    assertEquals((await limit.take("acme")).allowed, false);
  });
});

Deno.test("redis limiter: an unreachable Redis fails the decision, and the edge lets requests through", async () => {
  const lines: Record<string, unknown>[] = [];
  const redis = connectRedis("redis://127.0.0.1:1", {
    log: createLogger({}, (line) => lines.push(JSON.parse(line))),
  });
  try {
    const rateLimiter = new RedisRateLimiter({
      redis,
      prefix: "unreachable:rl:",
      ratePerSecond: 1,
      burst: 1,
    });
    await assertRejects(() => rateLimiter.take("acme"));
    const { call, backend, logs, metrics } = harness({
      rateLimiter: callerLimiter(new RedisBudgetBank({ redis, prefix: "unreachable:" }), {
        tenantRatePerSecond: 1,
        callerRatePerSecond: 1,
      }),
    });
    for (let i = 0; i < 3; i++) {
      assertEquals((await call("POST", "/v1/tickets/t/claim")).status, 200);
    }
    assertEquals(backend.requests.length, 3);
    assertMatch(metrics.render(), /^sb_rate_limiter_failures_total 3$/m);
    assertObjectMatch(logs[0], {
      level: "warn",
      message: "rate limiter failed; request let through",
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals(lines.map((line) => line.message), ["redis unreachable; retrying"]);
  } finally {
    redis.disconnect();
  }
});

Deno.test("redis limiter: a Redis that does not answer fails the decision within the timeout", async () => {
  // Accepts connections and never says a word.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sockets: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const socket of listener) sockets.push(socket);
  })();
  // Queueing and no ready check, so the command is sent and waits for an answer.
  const redis = new Redis({ port: listener.addr.port, host: "127.0.0.1", enableReadyCheck: false });
  try {
    const limiter = new RedisRateLimiter({
      redis,
      prefix: "silent:rl:",
      ratePerSecond: 1,
      burst: 1,
      timeoutMs: 50,
    });
    const started = performance.now();
    await assertRejects(() => limiter.take("acme"), Error, "did not answer within 50 ms");
    assertLessOrEqual(performance.now() - started, 500);
  } finally {
    redis.disconnect();
    listener.close();
    await accepting.catch(() => {});
    for (const socket of sockets) socket.close();
  }
});

Deno.test("redis limiter: a visitor hammering gets 429 while an agent of its tenant still gets through", async () => {
  await withRedis(async ({ prefix, redis }) => {
    const connection = await redis();
    const limits = callerLimiter(
      new RedisBudgetBank({ redis: connection, prefix }),
      // Slow refills, so the test's own duration adds no token worth counting.
      { tenantRatePerSecond: 5, callerRatePerSecond: 0.01, visitorShare: 0.1 },
    );
    const { call, backend } = harness({ rateLimiter: limits });
    const visitor = { sub: "anon:hammer", tenant: "acme", role: "visitor" as const };
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      statuses.push(
        (await call("POST", "/v1/tickets/t/comments", {
          token: visitor,
          body: { body: "hi" },
        })).status,
      );
    }
    assertEquals(statuses[0], 200, "the visitor's own burst of one");
    assertEquals(statuses.slice(1).filter((status) => status !== 429), [], "then 429");
    const limited = await call("POST", "/v1/tickets/t/comments", {
      token: visitor,
      body: { body: "hi" },
    });
    assertEquals((await limited.json()).error.message, "too many requests for this caller");

    // Many visitors together stop at their share of the tenant (0.5/s, burst 1) …
    const crowd: number[] = [];
    for (let i = 0; i < 30; i++) {
      const token = { sub: `anon:v${i}`, tenant: "acme", role: "visitor" as const };
      crowd.push(
        (await call("POST", "/v1/tickets/t/comments", { token, body: { body: "hi" } })).status,
      );
    }
    assertLessOrEqual(crowd.filter((status) => status === 200).length, 3);
    // … so the tenant's agents still have budget left.
    for (const sub of ["alice", "bob", "carol"]) {
      const agent = { sub, tenant: "acme", role: "agent" as const };
      assertEquals((await call("POST", "/v1/tickets/t/claim", { token: agent })).status, 200);
    }
    assertLessOrEqual(backend.requests.length, 1 + 3 + 3);
  });
});

Deno.test("redis budgets: spent in order in one round trip, up to the first that has none", async () => {
  await withRedis(async ({ prefix, redis }) => {
    const connection = await redis();
    const commands = recordCommands(connection);
    const bank = new RedisBudgetBank({ redis: connection, prefix });
    const budgets = [
      { key: "caller", ratePerSecond: 0.01, burst: 2 },
      { key: "visitors", ratePerSecond: 0.01, burst: 1 },
      { key: "tenant", ratePerSecond: 0.01, burst: 5 },
    ];
    assertEquals(await bank.spend(budgets), { allowed: true });
    assertEquals(commands, ["evalsha"], "all three in one command");
    const refused = await bank.spend(budgets);
    assert(!refused.allowed);
    assertEquals(refused.refused, 1, "the visitors' budget is empty");
    assertGreater(refused.retryAfterMs, 90_000);
    // Whole tokens: at 0.01/s the test's milliseconds refill next to nothing.
    const tokens = async (key: string) =>
      Math.floor(Number(await connection.hget(`${prefix}${key}`, "tokens")));
    assertEquals(await tokens("caller"), 0, "spent twice");
    assertEquals(await tokens("tenant"), 4, "not touched by the refused spend");
    assertEquals(commands.filter((name) => name !== "hget").length, 2);
  });
});

Deno.test("caller limits: one spend per request names the budget that refused", async () => {
  const spends: string[][] = [];
  const bank = new MemoryBudgetBank({ now: () => 0 });
  const limits = callerLimiter({
    spend(budgets) {
      spends.push(budgets.map((budget) => budget.key));
      return bank.spend(budgets);
    },
  }, { tenantRatePerSecond: 1, callerRatePerSecond: 1, visitorShare: 0.5 });
  const visitor = { tenant: "acme", sub: "anon:v", role: "visitor" };
  assertEquals(await limits.take(visitor), { allowed: true });
  assertEquals(spends, [['rl-caller:["acme","anon:v"]', "rl-visitors:acme", "rl:acme"]]);
  assertEquals(await limits.take({ tenant: "acme", sub: "alice", role: "agent" }), {
    allowed: true,
  });
  assertEquals(spends[1], ['rl-caller:["acme","alice"]', "rl:acme"], "staff skip the visitors'");
  // The visitors' budget (0.5/s, burst 1) is spent: the next visitor is refused by it.
  const other = await limits.take({ tenant: "acme", sub: "anon:w", role: "visitor" });
  assertObjectMatch(other, { allowed: false, scope: "visitors" });
});
