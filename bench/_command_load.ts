// Steady background load for the failover and scale-out scenarios: workers
// in a closed loop open a ticket through an edge and comment on it, each
// command with its own Idempotency-Key, so every acknowledged command can be
// looked up in the event log afterwards by the id the edge gives it.
import { clientCommandId } from "../edge/idempotency.ts";
import type postgres from "postgres";
import { call } from "../tests/_support/api_server.ts";

/** One answer (or its absence, status 0) the load got. */
export interface Answer {
  /** When it came, on the `performance.now()` clock. */
  at: number;
  ms: number;
  status: number;
}

/** The principal both load-driving scenarios send as; its token comes from the cluster. */
export const benchAgent = { sub: "bench-agent", role: "agent" } as const;

/** Who sends the load, where, and how much of it. */
export interface CommandLoadOptions {
  /** The edge's base URL. */
  url: string;
  token: string;
  /** The token's subject and role: the edge scopes each command's key to them. */
  sub: string;
  role: string;
  workers: number;
  /** Comments per ticket after its create. */
  comments: number;
  /** Pause of each worker between two commands, so the load is steady rather than flat out. */
  pauseMs: number;
}

/** A running load; stop it before reading its results. */
export class CommandLoad {
  /** Every answer, in order of arrival. */
  readonly answers: Answer[] = [];
  /** Command ids of the commands answered 2xx. */
  readonly acknowledged: string[] = [];
  /** Tickets whose create was acknowledged. */
  readonly tickets: string[] = [];
  readonly #options: CommandLoadOptions;
  // Keys unique to this load, so two loads on one cluster never share a command id.
  readonly #run = crypto.randomUUID().slice(0, 8);
  #stopped = false;
  #workers: Promise<void>[] = [];

  private constructor(options: CommandLoadOptions) {
    this.#options = options;
  }

  /** Start the workers. */
  static start(options: CommandLoadOptions): CommandLoad {
    const load = new CommandLoad(options);
    load.#workers = Array.from({ length: options.workers }, (_, w) => load.#work(w));
    return load;
  }

  /** Let every worker finish its command in flight, then stop. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#workers);
  }

  /** Answers that were 5xx or never came, from `since` on (`performance.now()` clock). */
  failures(since = 0): Answer[] {
    return this.answers.filter((a) => a.at >= since && (a.status === 0 || a.status >= 500));
  }

  async #work(worker: number): Promise<void> {
    const { url, comments } = this.#options;
    for (let n = 0; !this.#stopped; n++) {
      const key = `${this.#run}-${worker}-${n}`;
      const ticket = await this.#send(`${url}/v1/tickets`, key, { subject: key, body: "load" });
      const id = ticket?.body.id as string | undefined;
      if (id === undefined) continue;
      this.tickets.push(id);
      for (let c = 0; c < comments && !this.#stopped; c++) {
        await this.#send(`${url}/v1/tickets/${id}/comments`, `${key}-c${c}`, { body: "on it" });
      }
    }
  }

  async #send(url: string, key: string, body: unknown) {
    const sent = performance.now();
    let answer: Awaited<ReturnType<typeof call>> | null = null;
    try {
      answer = await call(url, this.#options.token, "POST", body, { "idempotency-key": key });
    } catch {
      // Recorded as status 0: the client was told nothing.
    }
    const at = performance.now();
    const status = answer?.status ?? 0;
    this.answers.push({ at, ms: at - sent, status });
    const acknowledged = status >= 200 && status < 300;
    if (acknowledged) this.acknowledged.push(clientCommandId(this.#options, key));
    const { pauseMs } = this.#options;
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    return acknowledged ? answer : null;
  }
}

/** How many of `commandIds` left no event in the log `sql`'s search path points at. */
export async function lostCommands(
  sql: postgres.Sql,
  commandIds: string[],
): Promise<number> {
  const [{ found }] = await sql<{ found: number }[]>`
    select count(distinct command_id)::int as found from events
    where command_id = any(${commandIds})`;
  return new Set(commandIds).size - found;
}
