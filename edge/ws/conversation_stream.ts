/**
 * Gap-free, duplicate-free delivery of one conversation to one socket, with
 * no socket in sight: live pushes are delivered in order, a gap (a push ahead
 * of the next number, a resume from an earlier point, or a head the node
 * reports past what was delivered) is backfilled from the log first, and a
 * backfill is paced to what the client reads.
 *
 * @example
 * ```ts
 * const stream = new ConversationStream("c1", 0, "seq", port);
 * await stream.backfill(); // history first
 * stream.offer(pushed);    // then live messages, in order, each once
 * ```
 *
 * @module
 */
import type { Page } from "../../cluster/protocol.ts";

/** A conversation's message as the log and the pushes carry it. */
export type MessageData = Record<string, unknown>;

/** How messages are numbered: `seq` for staff, `publicSeq` for visitors (no notes). */
export type Numbering = "seq" | "publicSeq";

/** What a stream needs of its socket. */
export interface StreamPort {
  /** A page of the conversation's messages after `after`, in `numbering`. */
  history(
    conversation: string,
    numbering: Numbering,
    after: number,
    limit: number,
  ): Promise<Page<MessageData>>;
  /** Send message `number` to the client. */
  deliver(conversation: string, number: number, data: MessageData): void;
  /** Bytes sent but not yet taken by the client. */
  readonly backlog: number;
  /** Whether the socket still takes frames. */
  readonly open: boolean;
  /** The client stopped reading during a backfill: give up on it. */
  stalled(): void;
  /** A backfill read failed; it is retried while live messages wait. */
  failed(conversation: string, error: unknown): void;
  /** A backfill waits while the backlog is above this. */
  readonly highWater: number;
  /** How long a backfill waits for a client that does not read before it stalls. */
  readonly stallMs: number;
}

const backfillPage = 500;

/** One conversation's delivery to one socket. */
export class ConversationStream {
  /** The conversation delivered. */
  readonly conversation: string;
  #numbering: Numbering;
  #port: StreamPort;
  #last: number;
  #syncing = false;
  #stopped = false;
  /** Messages that arrived ahead of `#last + 1`, by number. */
  #ahead = new Map<number, MessageData>();

  /** A stream that delivers what comes after message `from`. */
  constructor(
    conversation: string,
    from: number,
    numbering: Numbering,
    port: StreamPort,
  ) {
    this.conversation = conversation;
    this.#last = from;
    this.#numbering = numbering;
    this.#port = port;
  }

  /** The last message number delivered. */
  get last(): number {
    return this.#last;
  }

  /** A live message: delivered if it is next, dropped if seen, else backfilled up to. */
  offer(data: MessageData): void {
    if (!this.#visible(data)) return;
    const number = Number(data[this.#numbering]);
    if (number <= this.#last) return;
    this.#ahead.set(number, data);
    if (this.#syncing) return;
    if (number === this.#last + 1) this.#flush();
    else this.backfill().catch(() => {});
  }

  /** The client asks again from `last`: redeliver from there if it is behind. */
  async rewind(last: number): Promise<void> {
    if (last >= this.#last) return;
    this.#last = last;
    await this.backfill();
  }

  /**
   * The conversation's newest message numbers as the node reports them: a
   * head past what was delivered means a push was lost, so read the log.
   */
  head(heads: Record<Numbering, number>): void {
    if (heads[this.#numbering] > this.#last && !this.#syncing) this.backfill().catch(() => {});
  }

  /** Stop delivering; a backfill under way ends. */
  stop(): void {
    this.#stopped = true;
    this.#ahead.clear();
  }

  /**
   * Read the log from the last delivered message; live messages that arrive
   * meanwhile wait and are delivered in order after it.
   */
  async backfill(attempt = 0): Promise<void> {
    if (this.#syncing) return;
    this.#syncing = true;
    try {
      for (;;) {
        const page = await this.#port.history(
          this.conversation,
          this.#numbering,
          this.#last,
          backfillPage,
        );
        for (const data of page.items) {
          if (this.#visible(data)) this.#ahead.set(Number(data[this.#numbering]), data);
        }
        await this.#flushPaced();
        if (page.nextCursor === null || this.#ended()) break;
      }
    } catch (error) {
      this.#port.failed(this.conversation, error);
    } finally {
      this.#syncing = false;
    }
    // Something newer than what the log showed is waiting: read again shortly.
    if (this.#ahead.size > 0 && !this.#ended()) {
      setTimeout(() => {
        if (!this.#ended()) this.backfill(attempt + 1);
      }, Math.min(50 * 2 ** attempt, 2000));
    }
  }

  #ended(): boolean {
    return this.#stopped || !this.#port.open;
  }

  // A backfill can be far more than a socket's buffer: deliver it as fast as
  // the client reads, and give up on a client that stops reading.
  async #flushPaced(): Promise<void> {
    const port = this.#port;
    while (this.#ahead.has(this.#last + 1) && !this.#ended()) {
      const waitingSince = Date.now();
      while (port.backlog > port.highWater) {
        if (Date.now() - waitingSince > port.stallMs) return port.stalled();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      this.#flush(1);
    }
  }

  #flush(limit = Infinity): void {
    for (const number of [...this.#ahead.keys()]) {
      if (number <= this.#last) this.#ahead.delete(number);
    }
    for (let sent = 0; sent < limit && !this.#stopped; sent++) {
      const next = this.#ahead.get(this.#last + 1);
      if (!next) return;
      this.#ahead.delete(this.#last + 1);
      this.#last++;
      this.#port.deliver(this.conversation, this.#last, next);
    }
  }

  #visible(data: MessageData): boolean {
    return this.#numbering === "seq" || data.internal !== true;
  }
}
