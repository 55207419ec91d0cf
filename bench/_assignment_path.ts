// Arrival → assignment latency of any assigner, measured the same way: the
// routing scenario runs it over the periodic-sweep baseline and over
// Switchboard's live path (the queue actor), each an AssignmentPath.
import { quantile } from "./_stats.ts";

/** An assigner under test: items arrive, agents free slots, assignments are observed. */
export interface AssignmentPath extends AsyncDisposable {
  readonly name: string;
  /** Put `agents` agents online with `capacity` chats each, none held. */
  setup(agents: number, capacity: number): Promise<void>;
  /** Make item `id` arrive; resolves once it is assigned. */
  arrive(id: string): Promise<Assignment>;
  /** Agent `agent` closes one of its items `id`, freeing a slot. */
  release(agent: string, id: string): Promise<void>;
}

/** Who took an item, and when (`performance.now()`) it arrived and was assigned. */
export interface Assignment {
  agent: string;
  arrivedAt: number;
  assignedAt: number;
}

/** p50/p99/max in ms of one measurement. */
export interface Latency {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The latency figures of `samples` (ms). */
export function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.at(-1) ?? 0,
  };
}

/**
 * Arrival → assignment with free agents (items arriving `spacingMs` apart,
 * one at a time), then with every slot taken: an item waits, a slot frees,
 * and the time from the release to the waiting item's assignment.
 */
export async function measureAssignment(
  path: AssignmentPath,
  options: { arrivals: number; refills: number; spacingMs: number; signal: AbortSignal },
): Promise<{ freeAgents: Latency; slotFreed: Latency }> {
  const agents = 2;
  await path.setup(agents, 1);
  const free: number[] = [];
  for (let i = 0; i < options.arrivals; i++) {
    options.signal.throwIfAborted();
    const { agent, arrivedAt, assignedAt } = await path.arrive(`free-${i}`);
    free.push(assignedAt - arrivedAt);
    await path.release(agent, `free-${i}`);
    await new Promise((resolve) => setTimeout(resolve, options.spacingMs));
  }
  // Fill every slot, then each round: one item waits, a holder lets go.
  const held = await Promise.all(
    Array.from(
      { length: agents },
      async (_, i) => [(await path.arrive(`fill-${i}`)).agent, `fill-${i}`],
    ),
  );
  const refilled: number[] = [];
  for (let i = 0; i < options.refills; i++) {
    options.signal.throwIfAborted();
    const waiting = path.arrive(`wait-${i}`);
    await new Promise((resolve) => setTimeout(resolve, options.spacingMs));
    const [agent, id] = held.shift()!;
    const released = performance.now();
    await path.release(agent, id);
    const assigned = await waiting;
    held.push([assigned.agent, `wait-${i}`]);
    refilled.push(assigned.assignedAt - released);
  }
  return { freeAgents: latency(free), slotFreed: latency(refilled) };
}
