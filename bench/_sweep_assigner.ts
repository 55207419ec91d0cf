// The periodic-sweep assigner peers ship, as the routing scenario's
// baseline: every pollMs (5 s, as Rocket.Chat's queue polls) one transaction
// locks the oldest waiting item with `for update skip locked`, gives it to
// the least-loaded agent with room, and ends: one item per cycle.
import type postgres from "postgres";
import type { Assignment, AssignmentPath } from "./_assignment_path.ts";

/** The sweep over its own two tables in the scenario's schema. */
export class SweepAssigner implements AssignmentPath {
  readonly name: string;
  #sql: postgres.Sql;
  #pollMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #waiting = new Map<string, (assigned: { agent: string; at: number }) => void>();
  #cycle: Promise<void> = Promise.resolve();

  constructor(sql: postgres.Sql, pollMs = 5000) {
    this.#sql = sql;
    this.#pollMs = pollMs;
    this.name = `periodic sweep (poll ${pollMs / 1000} s, 1 per cycle)`;
  }

  async setup(agents: number, capacity: number): Promise<void> {
    const sql = this.#sql;
    await sql`drop table if exists sweep_items, sweep_agents`;
    await sql`create table sweep_agents (id text primary key, capacity int not null, load int not null)`;
    await sql`create table sweep_items (
      id text primary key, arrived_at timestamptz not null default now(), agent text)`;
    const rows = Array.from(
      { length: agents },
      (_, i) => ({ id: `agent-${i}`, capacity, load: 0 }),
    );
    await sql`insert into sweep_agents ${sql(rows)}`;
    this.#timer = setInterval(() => {
      this.#cycle = this.#cycle.then(() => this.#sweep()).catch(() => {});
    }, this.#pollMs);
  }

  async arrive(id: string): Promise<Assignment> {
    const assigned = new Promise<{ agent: string; at: number }>((resolve) =>
      this.#waiting.set(id, resolve)
    );
    await this.#sql`insert into sweep_items (id) values (${id})`;
    const arrivedAt = performance.now();
    const { agent, at } = await assigned;
    return { agent, arrivedAt, assignedAt: at };
  }

  async release(agent: string, id: string): Promise<void> {
    await this.#sql.begin(async (sql) => {
      await sql`delete from sweep_items where id = ${id}`;
      await sql`update sweep_agents set load = load - 1 where id = ${agent}`;
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.#timer);
    await this.#cycle;
    await this.#sql`drop table if exists sweep_items, sweep_agents`;
  }

  async #sweep(): Promise<void> {
    const assigned = await this.#sql.begin(async (sql) => {
      const [item] = await sql<{ id: string }[]>`
        select id from sweep_items where agent is null
        order by arrived_at limit 1 for update skip locked`;
      if (!item) return undefined;
      const [agent] = await sql<{ id: string }[]>`
        select id from sweep_agents where load < capacity
        order by load, id limit 1 for update skip locked`;
      if (!agent) return undefined;
      await sql`update sweep_agents set load = load + 1 where id = ${agent.id}`;
      await sql`update sweep_items set agent = ${agent.id} where id = ${item.id}`;
      return { item: item.id, agent: agent.id };
    });
    if (!assigned) return;
    this.#waiting.get(assigned.item)?.({ agent: assigned.agent, at: performance.now() });
    this.#waiting.delete(assigned.item);
  }
}
