/**
 * Keeps a node's {@linkcode PluginHost} in step with the plugins table: on
 * start it loads every tenant's active and shadow versions; on a broadcast
 * on `<cluster>.plugins.changed` it re-reads that plugin's versions and
 * loads, activates, shadows or rolls back to match. A version is loaded
 * (validated, its children started) before it is activated, so the swap is
 * atomic and calls in flight finish on the old version.
 *
 * Each tenant's plugins live in the host as `<tenant>/<name>`
 * ({@linkcode hostPluginName}): tenants never share a plugin.
 *
 * @module
 */
import type { PluginHost } from "../../plugins/host/plugin_host.ts";
import {
  type EventStore,
  type PluginRecord,
  PluginVersionTakenError,
} from "../store/event_store.ts";
import { subjects } from "../transport/subjects.ts";
import type { Subscription, Transport } from "../transport/transport.ts";

// Retries after 0.25, 0.5, 1, 2 and 4 s; the resync catches the rest.
const maxRetries = 5;

/** The host's name of `tenant`'s plugin `name`. */
export function hostPluginName(tenant: string, name: string): string {
  return `${tenant}/${name}`;
}

/** A plugin whose versions changed in the store, as broadcast. */
export interface PluginChange {
  tenant: string;
  name: string;
}

/** Options of {@linkcode PluginRegistry}. */
export interface PluginRegistryOptions {
  store: EventStore;
  host: PluginHost;
  /** Where changes are broadcast; without one (standalone) only this process changes. */
  bus?: Transport;
  cluster: string;
  onError?: (message: string, fields: Record<string, unknown>) => void;
  /**
   * How often every plugin is re-read anyway, for a broadcast lost on the
   * way (NATS delivers at most once). @default {30_000}
   */
  resyncMs?: number;
}

/** The node-side registry of tenants' routing plugins. */
export class PluginRegistry {
  #options: PluginRegistryOptions;
  /** The source each loaded version was loaded from, by `hostName\nversion`. */
  #loaded = new Map<string, string>();
  /** Each plugin's sync under way, so syncs of one plugin run one at a time. */
  #syncs = new Map<string, Promise<void>>();
  #subscription: Subscription | undefined;
  #resync: ReturnType<typeof setInterval> | undefined;
  #retries = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;

  constructor(options: PluginRegistryOptions) {
    this.#options = options;
  }

  /** The host the versions are loaded into. */
  get host(): PluginHost {
    return this.#options.host;
  }

  /** Load every live version, then follow broadcasts. */
  async start(): Promise<void> {
    const { bus, cluster } = this.#options;
    this.#subscription = bus?.subscribe(subjects(cluster).pluginsChanged, (payload) => {
      const change = payload as PluginChange;
      if (typeof change?.tenant !== "string" || typeof change?.name !== "string") return;
      this.#follow(change, 0);
    });
    await this.#syncAll();
    this.#resync = setInterval(
      () => this.#syncAll().catch((error) => this.#failed({}, error)),
      this.#options.resyncMs ?? 30_000,
    );
  }

  /** Tell every node (this one included) that `change`'s plugin changed. */
  broadcast(change: PluginChange): void {
    this.#options.bus?.publish(subjects(this.#options.cluster).pluginsChanged, change);
  }

  /**
   * Load `record`'s version into the host unless it is already, validating
   * it in the sandbox.
   *
   * @throws {PluginError} why the sandbox refused it
   * @throws {PluginVersionTakenError} when it was loaded here from another source
   */
  async load(record: Pick<PluginRecord, "tenant" | "name" | "version" | "source" | "options">) {
    const name = hostPluginName(record.tenant, record.name);
    const key = `${name}\n${record.version}`;
    const loaded = this.#loaded.get(key);
    if (loaded === record.source) return;
    if (loaded !== undefined) {
      throw new PluginVersionTakenError(record.name, record.version);
    }
    await this.#options.host.load(name, record.version, record.source, record.options);
    this.#loaded.set(key, record.source);
  }

  /**
   * Re-read `tenant`'s plugin `name` and give its versions in the host the
   * roles the store gives them.
   */
  sync(tenant: string, name: string): Promise<void> {
    const hostName = hostPluginName(tenant, name);
    const previous = this.#syncs.get(hostName) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(async () =>
      this.#apply(await this.#options.store.plugins(tenant, name))
    );
    this.#syncs.set(hostName, next);
    const settle = () => {
      if (this.#syncs.get(hostName) === next) this.#syncs.delete(hostName);
    };
    next.then(settle, settle);
    return next;
  }

  /** Stop following broadcasts; the host is its owner's to close. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#subscription?.close();
    clearInterval(this.#resync);
    for (const retry of this.#retries) clearTimeout(retry);
    await Promise.allSettled([...this.#syncs.values()]);
  }

  async #syncAll(): Promise<void> {
    const plugins = new Map<string, PluginChange>();
    for (const { tenant, name } of await this.#options.store.livePlugins()) {
      plugins.set(hostPluginName(tenant, name), { tenant, name });
    }
    await Promise.all(
      [...plugins.values()].map((change) =>
        this.sync(change.tenant, change.name).catch((error) => this.#failed(change, error))
      ),
    );
  }

  // Loads and starts children first, swaps after: until every live version
  // runs the old roles stand, and a version that fails to load here keeps
  // them standing.
  async #apply(records: PluginRecord[]): Promise<void> {
    const active = records.find((record) => record.state === "active");
    const shadow = records.find((record) => record.state === "shadow");
    const live = [active, shadow].filter((record) => record !== undefined);
    await Promise.all(live.map((record) => this.load(record)));
    const { host } = this.#options;
    const first = live[0];
    if (!first) return;
    const name = hostPluginName(first.tenant, first.name);
    await Promise.all(live.map((record) => host.prepare(name, record.version)));
    if (active) host.activate(name, active.version);
    host.shadow(name, shadow?.version);
  }

  // A version that fails to load here (a start or probe past its time on a
  // busy machine) is tried again a few times, sooner than the resync.
  #follow(change: PluginChange, attempt: number): void {
    this.sync(change.tenant, change.name).catch((error) => {
      this.#failed(change, error);
      if (attempt >= maxRetries || this.#closed) return;
      const retry = setTimeout(() => {
        this.#retries.delete(retry);
        this.#follow(change, attempt + 1);
      }, 250 * 2 ** attempt);
      this.#retries.add(retry);
    });
  }

  #failed(about: Partial<PluginChange>, error: unknown) {
    this.#options.onError?.("plugin sync failed", { ...about, error: String(error) });
  }
}
