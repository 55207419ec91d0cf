/**
 * The {@linkcode Backend} of a process that hosts the actors itself
 * (standalone): requests go straight to the local host.
 *
 * @module
 */
import type { ActorAddress } from "../actors/decider.ts";
import { actorKey } from "./actor_key.ts";
import type { EventStore } from "./event_store.ts";
import type { ActorHost } from "./host.ts";
import type {
  ActorRequest,
  ActorResponse,
  Backend,
  Page,
  ProjectionQuery,
  StoredEvent,
} from "./protocol.ts";

/** A backend over an in-process host and its store. */
export class LocalBackend implements Backend {
  #host: ActorHost;
  #store: EventStore;

  constructor(host: ActorHost, store: EventStore) {
    this.#host = host;
    this.#store = store;
  }

  request(request: ActorRequest): Promise<ActorResponse> {
    return this.#host.dispatch(request);
  }

  async events(address: ActorAddress, afterSeq: number, limit: number): Promise<Page<StoredEvent>> {
    const items = await this.#store.events(actorKey(address), afterSeq, limit + 1);
    const page = items.slice(0, limit);
    return { items: page, nextCursor: items.length > limit ? String(page.at(-1)!.seq) : null };
  }

  list(query: ProjectionQuery): Promise<Page<Record<string, unknown>>> {
    return this.#store.list(query);
  }

  ready(): boolean {
    return true;
  }
}
