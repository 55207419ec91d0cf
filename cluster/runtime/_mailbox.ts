/**
 * An actor's mailbox: requests wait here until the activation is loaded,
 * then run one turn at a time, in arrival order.
 *
 * @module
 */
import type { ActorRequest, ActorResponse } from "../protocol.ts";

interface Job {
  request: ActorRequest;
  resolve: (response: Promise<ActorResponse> | ActorResponse) => void;
}

/** What a {@linkcode Mailbox} runs. */
export interface MailboxOptions {
  /** Settles when the activation can take turns; a rejection fails every queued job. */
  ready: () => Promise<void>;
  /** One turn; synchronous, its answer may wait for a commit. */
  turn: (request: ActorRequest) => Promise<ActorResponse> | ActorResponse;
  /** The answer to every queued job when `ready` rejects. */
  loadFailed: (error: unknown) => ActorResponse;
  /**
   * What must be read before these requests take their turns, if anything
   * (idempotency records memory does not hold).
   */
  lookup: (requests: ActorRequest[]) => Promise<void> | null;
  /** The answer to the requests whose lookup failed. */
  lookupFailed: (error: unknown) => ActorResponse;
}

/** A queue of requests for one activation. */
export class Mailbox {
  #queue: Job[] = [];
  #options: MailboxOptions;
  #running = false;
  #closed: ActorResponse | null = null;

  constructor(options: MailboxOptions) {
    this.#options = options;
  }

  /** Requests waiting for their turn. */
  get length(): number {
    return this.#queue.length;
  }

  /** Queue a request; the answer settles once its turn has run and its reply may leave. */
  post(request: ActorRequest): Promise<ActorResponse> {
    if (this.#closed) return Promise.resolve(this.#closed);
    return new Promise((resolve) => {
      this.#queue.push({ request, resolve });
      if (!this.#running) this.#run();
    });
  }

  /**
   * Take no more turns: every request still queued, and every later one, is
   * answered `response`.
   */
  close(response: ActorResponse): void {
    this.#closed ??= response;
    for (const job of this.#queue.splice(0)) job.resolve(response);
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      await this.#options.ready();
    } catch (error) {
      this.#running = false;
      this.close(this.#options.loadFailed(error));
      return;
    }
    // Turns are synchronous (deciders do no I/O), so the whole queue is decided
    // in one go, after one lookup for all of it when one is needed; replies
    // then wait on the commits they depend on. A turn may close the mailbox,
    // which answers the rest.
    while (this.#queue.length > 0) {
      const count = this.#queue.length;
      const lookup = this.#options.lookup(this.#queue.map((job) => job.request));
      if (lookup) {
        const failure = await lookup.then(() => null, this.#options.lookupFailed);
        if (failure) {
          for (const job of this.#queue.splice(0, count)) job.resolve(failure);
          continue;
        }
      }
      for (let i = 0; i < count && this.#queue.length > 0; i++) {
        const job = this.#queue.shift()!;
        job.resolve(this.#options.turn(job.request));
      }
    }
    this.#running = false;
  }
}
