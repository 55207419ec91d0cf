// Why fencing matters. Claimer A wins, then stalls before its write (a GC
// pause, a slow disk) for longer than a lock lives; claimer B tries meanwhile.
// Under a Redis lock, B takes the expired lock and both are told they won.
// Under Switchboard, A's runtime stalls in its append while a second runtime
// (as when two nodes' membership views disagree) takes B's claim; A's append
// then names a sequence number that is gone, and A is told `stale_owner`.
import type { EventStore } from "../cluster/store/event_store.ts";
import { GroupCommitter } from "../cluster/store/group_committer.ts";
import { ActorHost } from "../cluster/runtime/host.ts";
import { deciders } from "../cluster/process/node_runtime.ts";
import type { ActorRequest } from "../cluster/protocol.ts";
import { TenantDirectory } from "../cluster/store/tenant_directory.ts";
import { overrideStore } from "../tests/_support/services.ts";
import { type ClaimMechanism, redisLockClaims } from "./_baselines.ts";
import { type ClaimServer, type Mechanism, tenant } from "./_claim_server.ts";
import { checkOwnership, type OwnershipCheck } from "./_ownership.ts";

/** Timing of the stalled winner. */
export interface StallTiming {
  /** The Redis lock's lifetime. */
  ttlMs: number;
  /** How long A stalls between winning and writing; longer than `ttlMs`. */
  stallMs: number;
}

/** One variant of the stalled winner over its tickets. */
export interface StalledWinnerRun {
  variant: string;
  /** The claims A and B made, over all tickets. */
  claims: number;
  /** How many times each answer was given to A and to B. */
  answers: { a: Record<string, number>; b: Record<string, number> };
  ownership: OwnershipCheck;
}

const stalledClaimer = "stalled-a";
const otherClaimer = "agent-b";
// When B first tries, so A surely won first.
const bHeadStartMs = 100;
const bRetryMs = 50;

/** Run every variant at once, over `tickets` tickets each. */
export async function stalledWinners(
  server: ClaimServer,
  tickets: number,
  timing: StallTiming,
): Promise<StalledWinnerRun[]> {
  const { redis, sql, keyPrefix } = server;
  const stalledHost = stallingHost(server.runtime.store, timing.stallMs);
  try {
    return await Promise.all([
      ...[true, false].map((trustLock) => {
        const options = { ttlMs: timing.ttlMs, trustLock };
        const variant = trustLock ? "lock-trusting write" : "write only if unowned";
        return contest(server, "redis-lock", `redis-lock, ${variant}`, tickets, {
          a: lockClaimer(
            redisLockClaims(redis, sql, keyPrefix, { ...options, stallMs: timing.stallMs }),
            stalledClaimer,
          ),
          b: lockClaimer(redisLockClaims(redis, sql, keyPrefix, options), otherClaimer),
        });
      }),
      contest(server, "switchboard", "switchboard, two runtimes", tickets, {
        activate: (ticket) => stalledHost.dispatch(ticketRequest(ticket, "read")),
        a: hostClaimer(stalledHost, stalledClaimer),
        b: hostClaimer(server.runtime.host, otherClaimer),
      }),
    ]);
  } finally {
    stalledHost.close();
  }
}

interface Claimers {
  /** Make A's runtime hold the ticket before the race, as a second owner would. */
  activate?: (ticket: string) => Promise<unknown>;
  a: (ticket: string) => Promise<string>;
  b: (ticket: string) => Promise<string>;
}

async function contest(
  server: ClaimServer,
  mechanism: Mechanism,
  variant: string,
  count: number,
  claimers: Claimers,
): Promise<StalledWinnerRun> {
  const tickets = await server.openTickets(mechanism, count);
  await Promise.all(tickets.map((ticket) => claimers.activate?.(ticket)));
  const outcomes = await Promise.all(tickets.map((ticket) =>
    Promise.all([
      claimers.a(ticket),
      delay(bHeadStartMs).then(() => claimers.b(ticket)),
    ])
  ));
  const told = new Map(tickets.map((ticket, i) => {
    const [a, b] = outcomes[i];
    return [ticket, [
      ...(a === "won" ? [stalledClaimer] : []),
      ...(b === "won" ? [otherClaimer] : []),
    ]];
  }));
  return {
    variant,
    claims: 2 * count,
    answers: { a: tally(outcomes.map(([a]) => a)), b: tally(outcomes.map(([, b]) => b)) },
    ownership: checkOwnership(told, await server.owners(mechanism, tickets)),
  };
}

// A lock claimer keeps trying while the lock is held, as a contender would.
function lockClaimer(claim: ClaimMechanism, claimer: string): (ticket: string) => Promise<string> {
  return async (ticket) => {
    let outcome = await claim(ticket, claimer);
    while (outcome === "locked") {
      await delay(bRetryMs);
      outcome = await claim(ticket, claimer);
    }
    return outcome;
  };
}

function hostClaimer(host: ActorHost, claimer: string): (ticket: string) => Promise<string> {
  return async (ticket) => {
    const command = { type: "claim", by: { sub: claimer, role: "agent" } };
    const answer = await host.dispatch({ ...ticketRequest(ticket, "command"), command });
    return answer.ok ? "won" : answer.error.code;
  };
}

function ticketRequest(ticket: string, op: ActorRequest["op"]): ActorRequest {
  return {
    address: { kind: "ticket", tenant, id: ticket },
    op,
    commandId: crypto.randomUUID(),
    deadline: Date.now() + 60_000,
  };
}

// A second runtime on the same store whose appends stall before they reach it.
function stallingHost(store: EventStore, stallMs: number): ActorHost {
  const stalled = overrideStore(store, {
    appendBatch: async (batch) => {
      await delay(stallMs);
      return await store.appendBatch(batch);
    },
  });
  const tenants = new TenantDirectory(stalled);
  return new ActorHost({
    store: stalled,
    committer: new GroupCommitter(stalled),
    deciders,
    tenantSettings: (name) => tenants.get(name),
  });
}

function tally(answers: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) counts[answer] = (counts[answer] ?? 0) + 1;
  return counts;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
