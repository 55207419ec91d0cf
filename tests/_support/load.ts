// A closed-loop client for cluster tests: workers create tickets, claim them
// and comment on them through an edge, recording every answer.
import { call } from "./api_server.ts";

export interface Outcome {
  op: "create" | "claim" | "comment";
  ticket: string | null;
  status: number;
  code?: string;
  at: number;
  ms: number;
}

export class Load {
  readonly outcomes: Outcome[] = [];
  readonly tickets: string[] = [];
  #stop = false;
  #workers: Promise<void>[] = [];

  constructor(readonly url: () => string, readonly token: string) {}

  start(workers: number, pauseMs = 5): this {
    this.#workers = Array.from({ length: workers }, (_, w) => this.#work(w, pauseMs));
    return this;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#workers);
  }

  get failures(): Outcome[] {
    return this.outcomes.filter((o) => o.status >= 500 || o.status === 0);
  }

  async #work(worker: number, pauseMs: number): Promise<void> {
    let n = 0;
    while (!this.#stop) {
      const created = await this.#send("create", null, "/v1/tickets", {
        subject: `w${worker}-${n++}`,
        body: "load",
      });
      if (created?.status === 201) {
        const id = created.body.id as string;
        this.tickets.push(id);
        await this.#send("claim", id, `/v1/tickets/${id}/claim`);
        await this.#send("comment", id, `/v1/tickets/${id}/comments`, { body: "working on it" });
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  async #send(op: Outcome["op"], ticket: string | null, path: string, body?: unknown) {
    const started = performance.now();
    try {
      const response = await call(`${this.url()}${path}`, this.token, "POST", body, {
        "idempotency-key": crypto.randomUUID(),
      });
      this.outcomes.push({
        op,
        ticket: ticket ?? (response.body.id as string | undefined) ?? null,
        status: response.status,
        code: (response.body.error as { code?: string } | undefined)?.code,
        at: Date.now(),
        ms: performance.now() - started,
      });
      return response;
    } catch {
      this.outcomes.push({
        op,
        ticket,
        status: 0,
        at: Date.now(),
        ms: performance.now() - started,
      });
      return null;
    }
  }
}
