// The read side of a Backend, the same for every backend: each call is one
// store query, and only how a query reaches a store differs.
import type { ActorAddress, StoredTenantSettings, TenantSettings } from "../../actors/decider.ts";
import type { Page, ProjectionQuery, StoredEvent, WidgetTenant } from "../protocol.ts";
import { type QueryRequest, type QueryResponse, unwrapQuery } from "../store/store_query.ts";

export abstract class StoreQueries {
  /** Answer one store query, in-process or over the bus. */
  protected abstract query(request: QueryRequest): Promise<QueryResponse>;

  events(address: ActorAddress, afterSeq: number, limit: number): Promise<Page<StoredEvent>> {
    return this.#ask({ op: "events", address, afterSeq, limit });
  }

  list(query: ProjectionQuery): Promise<Page<Record<string, unknown>>> {
    return this.#ask({ op: "list", query });
  }

  messages(
    address: ActorAddress,
    numbering: "seq" | "publicSeq",
    after: number,
    limit: number,
  ): Promise<Page<Record<string, unknown>>> {
    return this.#ask({ op: "messages", address, numbering, after, limit });
  }

  settings(tenant: string): Promise<TenantSettings> {
    return this.#ask({ op: "settings", tenant });
  }

  putSettings(tenant: string, settings: StoredTenantSettings): Promise<TenantSettings> {
    return this.#ask({ op: "putSettings", tenant, settings });
  }

  widgetTenant(key: string): Promise<WidgetTenant | null> {
    return this.#ask({ op: "widgetTenant", key });
  }

  deadLetters(limit: number): Promise<Record<string, unknown>[]> {
    return this.#ask({ op: "deadLetters", limit });
  }

  async #ask<T>(request: QueryRequest): Promise<T> {
    return unwrapQuery<T>(await this.query(request));
  }
}
