// One HTTP server for every claim mechanism: Switchboard's real API over a
// LocalBackend and a node runtime, and the baselines' claim routes beside it,
// so each pays the same HTTP, JSON and token verification. Everything lives
// in a fresh Postgres schema and under a fresh Redis key prefix.
import { Redis } from "ioredis";
import postgres from "postgres";
import { actorKey, parseActorKey } from "../cluster/actor_key.ts";
import { LocalBackend } from "../cluster/process/local_backend.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { MetricsRegistry } from "../cluster/telemetry/metrics.ts";
import { type NodeRuntime, startNodeRuntime } from "../cluster/process/node_runtime.ts";
import { AuthError, bearerToken, type Role, signToken, verifyToken } from "../edge/auth/auth.ts";
import { createHttpHandler } from "../edge/http/handler.ts";
import { call, JWT_SECRET, testConfig } from "../tests/_support/api_server.ts";
import {
  DATABASE_URL,
  deleteKeys,
  dropSchema,
  REDIS_URL,
  uniqueName,
} from "../tests/_support/services.ts";
import {
  baselineOwners,
  type ClaimMechanism,
  type ClaimOutcome,
  createBaselineTable,
  forUpdateClaims,
  insertBaselineTickets,
  redisLockClaims,
} from "./_baselines.ts";
import type { StoredOwner } from "./_ownership.ts";

/** The tenant every bench request acts in. */
export const tenant = "bench";

/** The claim mechanisms, in the order they are run and shown. */
export const mechanisms = ["switchboard", "redis-lock", "pg-for-update"] as const;

/** One of {@linkcode mechanisms}. */
export type Mechanism = typeof mechanisms[number];

/** The claim route of a ticket under each mechanism. */
export function claimPath(mechanism: Mechanism, ticket: string): string {
  return mechanism === "switchboard"
    ? `/v1/tickets/${ticket}/claim`
    : `/baseline/${mechanism}/tickets/${ticket}/claim`;
}

/** The running server and what stands behind it. */
export interface ClaimServer extends AsyncDisposable {
  url: string;
  runtime: NodeRuntime;
  metrics: MetricsRegistry;
  /** The baselines' Postgres pool, as large as the runtime's. */
  sql: postgres.Sql;
  redis: Redis;
  /** Prefix of every Redis key the bench writes. */
  keyPrefix: string;
  token(sub: string, role?: Role): Promise<string>;
  /** Open `count` unclaimed tickets (through the API for Switchboard); returns their ids. */
  openTickets(mechanism: Mechanism, count: number): Promise<string[]>;
  /** What the database holds of each ticket's owner. */
  owners(mechanism: Mechanism, tickets: string[]): Promise<Map<string, StoredOwner>>;
}

/** The runtime's pool size (openPostgresStore's default), given to the baselines too. */
const poolSize = 8;

/** Start the server on a free loopback port. */
export async function startClaimServer(): Promise<ClaimServer> {
  await using stack = new AsyncDisposableStack();
  const config = testConfig({ dbSchema: uniqueName("sb_bench"), cluster: uniqueName("sbbench") });
  stack.defer(() => dropSchema(config.dbSchema));

  const metrics = new MetricsRegistry();
  const log = createLogger({ role: "bench" });
  const runtime = await startNodeRuntime({ config, metrics, log });
  stack.defer(() => runtime.close());
  runtime.startDelivery();

  const sql = postgres(DATABASE_URL, {
    max: poolSize,
    onnotice: () => {},
    connection: { search_path: config.dbSchema, application_name: "switchboard-bench" },
  });
  stack.defer(() => sql.end({ timeout: 5 }));
  await createBaselineTable(sql);

  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const keyPrefix = config.cluster;
  stack.defer(async () => {
    await deleteKeys(redis, `${keyPrefix}:*`);
    await redis.quit();
  });

  const api = createHttpHandler({
    backend: new LocalBackend(runtime.host, runtime.store, config.nodeId),
    jwtSecret: JWT_SECRET,
    metrics,
    log,
  });
  const baselines = baselineHandler({
    "redis-lock": redisLockClaims(redis, sql, keyPrefix),
    "pg-for-update": forUpdateClaims(sql),
  });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (request) => baselines(request) ?? api(request),
  );
  stack.defer(() => server.shutdown());

  const url = `http://127.0.0.1:${server.addr.port}`;
  const token = (sub: string, role: Role = "agent") =>
    signToken(JWT_SECRET, { sub, role, tenant }, 3600);
  const supervisor = await token("bench-supervisor", "supervisor");
  let baselineTickets = 0;
  const owned = stack.move();
  return {
    url,
    runtime,
    metrics,
    sql,
    redis,
    keyPrefix,
    token,
    async openTickets(mechanism, count) {
      if (mechanism === "switchboard") {
        return await inParallel(count, 50, async (i) => {
          const created = await call(`${url}/v1/tickets`, supervisor, "POST", {
            subject: `Claim storm ${i}`,
            body: "Whoever claims first owns it.",
          });
          if (created.status !== 201) throw new Error(`create answered ${created.status}`);
          return created.body.id as string;
        });
      }
      const ids = Array.from({ length: count }, () => `${mechanism}-${++baselineTickets}`);
      await insertBaselineTickets(sql, ids);
      return ids;
    },
    owners: (mechanism, tickets) =>
      mechanism === "switchboard" ? switchboardOwners(sql, tickets) : baselineOwners(sql, tickets),
    [Symbol.asyncDispose]: () => owned.disposeAsync(),
  };
}

// Every claim a ticket actor accepted is an `assigned` event in its log.
async function switchboardOwners(
  sql: postgres.Sql,
  tickets: string[],
): Promise<Map<string, StoredOwner>> {
  const keys = tickets.map((id) => actorKey({ kind: "ticket", tenant, id }));
  const rows = await sql<{ actor_key: string; owner: string; writes: number }[]>`
    select actor_key, count(*)::int as writes,
      (array_agg(data->>'agent' order by seq desc))[1] as owner
    from events where type = 'assigned' and actor_key = any(${keys})
    group by actor_key`;
  return new Map(
    rows.map((row) => [parseActorKey(row.actor_key).id, { owner: row.owner, writes: row.writes }]),
  );
}

// Runs work(0 … count-1) with at most `width` at a time; results in index order.
async function inParallel<T>(
  count: number,
  width: number,
  work: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, count) }, async () => {
    while (next < count) {
      const index = next++;
      results[index] = await work(index);
    }
  }));
  return results;
}

// Matched on the whole URL: parsing it for every request would charge
// Switchboard's claims a second URL parse (its API parses its own), 4% of the
// server's time in a storm.
const baselineRoute = /^http:\/\/[^/]+\/baseline\/([a-z-]+)\/tickets\/([^/?#]+)\/claim(?:[?#]|$)/;

const answers: Record<ClaimOutcome, [number, string]> = {
  won: [200, ""],
  lost: [409, "already_claimed"],
  locked: [409, "locked"],
  missing: [404, "not_found"],
};

// Answers the baseline routes (null for any other path) as the API would:
// bearer token verified, JSON body, the API's error shape.
function baselineHandler(
  claims: Record<string, ClaimMechanism>,
): (request: Request) => Promise<Response> | null {
  return (request) => {
    const match = baselineRoute.exec(request.url);
    if (!match || !Object.hasOwn(claims, match[1])) return null;
    return claimAnswer(request, claims[match[1]], match[2]);
  };
}

async function claimAnswer(
  request: Request,
  claim: ClaimMechanism,
  ticket: string,
): Promise<Response> {
  if (request.method !== "POST") return failure(405, "method_not_allowed");
  let sub: string;
  try {
    ({ sub } = await verifyToken(JWT_SECRET, bearerToken(request.headers.get("authorization"))));
  } catch (error) {
    if (error instanceof AuthError) return failure(401, error.code);
    throw error;
  }
  try {
    const outcome = await claim(ticket, sub);
    const [status, code] = answers[outcome];
    return status === 200 ? Response.json({ id: ticket, assignee: sub }) : failure(status, code);
  } catch {
    return failure(503, "unavailable");
  }
}

function failure(status: number, code: string): Response {
  return Response.json({ error: { code, message: code.replaceAll("_", " ") } }, { status });
}
