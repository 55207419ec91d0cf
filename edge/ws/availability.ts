/**
 * Tells the tenant's queue actor what the agents on this edge can take: an
 * agent is online once its first socket here says hello, changes with every
 * `status` frame, and is gone when its last socket here closes. Commands
 * to one agent's queue entry go one at a time, so they arrive in order.
 *
 * Multi-edge presence is not this module's: an agent with sockets on two
 * edges is gone once either edge loses its last one, until its next status
 * frame. Whoever watches presence leases calls {@linkcode QueueAvailability.gone}
 * when an edge dies.
 *
 * @module
 */
import type { Backend } from "../../cluster/protocol.ts";
import type { Logger } from "../../cluster/telemetry/log.ts";
import { type QueueCommand, tenantQueueId } from "../../actors/queue.ts";

/** What a `status` frame may say of an agent. */
export interface StatusReport {
  status: "online" | "away" | "offline";
  /** Chats the agent takes at once. */
  capacity?: number;
  skills?: string[];
  languages?: string[];
  teams?: string[];
}

const requestTimeoutMs = 5_000;
const attempts = 3;

/** Sends agents' availability to their tenant's queue. */
export class QueueAvailability {
  #backend: Backend;
  #log: Logger;
  #sockets = new Map<string, number>();
  #chains = new Map<string, Promise<void>>();

  constructor(backend: Backend, log: Logger) {
    this.#backend = backend;
    this.#log = log;
  }

  /** An agent's socket said hello: its first one here makes it online. */
  connected(tenant: string, agent: string): void {
    const key = `${tenant}/${agent}`;
    const count = (this.#sockets.get(key) ?? 0) + 1;
    this.#sockets.set(key, count);
    if (count === 1) this.#send(tenant, { type: "availability", agent, status: "online" });
  }

  /** An agent's socket closed: its last one here makes it gone. */
  disconnected(tenant: string, agent: string): void {
    const key = `${tenant}/${agent}`;
    const count = (this.#sockets.get(key) ?? 1) - 1;
    if (count > 0) return void this.#sockets.set(key, count);
    this.#sockets.delete(key);
    this.gone(tenant, agent);
  }

  /** The agent said what it takes now. */
  status(tenant: string, agent: string, report: StatusReport): void {
    const { status, capacity, skills, languages, teams } = report;
    this.#send(tenant, {
      type: "availability",
      agent,
      status,
      ...(capacity !== undefined && { capacity: { chats: capacity } }),
      ...(skills && { skills }),
      ...(languages && { languages }),
      ...(teams && { teams }),
    });
  }

  /** The agent is gone (its last socket, or its edge): it gets no more work. */
  gone(tenant: string, agent: string): void {
    this.#send(tenant, { type: "agent_gone", agent });
  }

  #send(tenant: string, command: QueueCommand & { agent: string }): void {
    const key = `${tenant}/${command.agent}`;
    const commandId = `s:availability:${crypto.randomUUID()}`;
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.#deliver(tenant, command, commandId));
    this.#chains.set(key, next);
    next.then(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
  }

  async #deliver(tenant: string, command: QueueCommand, commandId: string): Promise<void> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await this.#backend.request({
          address: { kind: "queue", tenant, id: tenantQueueId },
          op: "command",
          command,
          commandId,
          deadline: Date.now() + requestTimeoutMs,
        });
        if (response.ok || !response.error.retryable) {
          if (!response.ok) this.#log.warn("queue refused availability", { error: response.error });
          return;
        }
      } catch (error) {
        if (attempt === attempts) {
          this.#log.warn("availability not delivered", { tenant, error: String(error) });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
