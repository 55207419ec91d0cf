/**
 * Tenant settings as deciders see them: the stored settings over the
 * defaults, cached briefly so activations do not each read Postgres.
 *
 * @module
 */
import {
  defaultRoutingSettings,
  defaultTenantSettings,
  type StoredTenantSettings,
  type TenantSettings,
} from "../../actors/decider.ts";
import type { EventStore } from "./event_store.ts";

/** A tenant's stored settings over the defaults. */
export function effectiveSettings(stored: StoredTenantSettings | null): TenantSettings {
  return {
    ...defaultTenantSettings,
    ...stored,
    sla: { ...defaultTenantSettings.sla, ...stored?.sla },
    chat: { ...defaultTenantSettings.chat, ...stored?.chat },
    routing: {
      ...defaultRoutingSettings,
      ...stored?.routing,
      capacity: { ...defaultRoutingSettings.capacity, ...stored?.routing?.capacity },
    },
  };
}

/** Reads and caches tenant settings. */
export class TenantDirectory {
  #store: EventStore;
  #ttlMs: number;
  #cache = new Map<string, { at: number; settings: Promise<TenantSettings> }>();

  constructor(store: EventStore, ttlMs = 5_000) {
    this.#store = store;
    this.#ttlMs = ttlMs;
  }

  /** The settings of `tenant`, defaults filled in. */
  get(tenant: string): Promise<TenantSettings> {
    const cached = this.#cache.get(tenant);
    if (cached && Date.now() - cached.at < this.#ttlMs) return cached.settings;
    const settings = this.#store.tenantSettings(tenant).then(effectiveSettings);
    // A failed read is not cached, so the next activation asks again.
    settings.catch(() => this.#cache.delete(tenant));
    this.#cache.set(tenant, { at: Date.now(), settings });
    return settings;
  }
}
