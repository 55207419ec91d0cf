/**
 * Agent presence on the replicated `presence` map (DESIGN §6).
 *
 * Model: one entry per agent and edge, written only by that edge while it
 * holds a socket of the agent, and leased: the edge renews its entries every
 * `renewMs` with a lease of `leaseMs`, and removes an agent's entry with its
 * last socket. An edge that dies renews nothing, so its entries expire within
 * the lease and every reader treats them as offline from then on.
 *
 * Reading an agent: of its unexpired entries (one per edge), the one with
 * the best status wins (`online` over `away` over `offline`), ties to the
 * longest lease; so an agent on several devices or edges is online while
 * any of them says so.
 *
 * An edge replicates the tenants of its sockets, and those it was asked
 * about (a widget bootstrap); the first question about a tenant waits
 * briefly for the tenant's state to arrive from the peers.
 *
 * @module
 */
import {
  agentOfKey,
  type AgentStatus,
  type PresenceEntry,
  presenceKey,
  type SharedState,
} from "../../cluster/process/shared_state.ts";

export type { AgentStatus } from "../../cluster/process/shared_state.ts";

/** What an agent says of itself besides its status. */
export interface AgentProfile {
  capacity?: number;
  skills?: string[];
  languages?: string[];
  teams?: string[];
}

/** An agent's presence as readers see it. */
export interface AgentPresence {
  agent: string;
  status: AgentStatus;
  capacity: number;
  skills: string[];
  languages: string[];
  teams: string[];
  /** The edges holding a socket of the agent, with an unexpired lease. */
  edges: string[];
}

/** Options of {@linkcode Presence}. */
export interface PresenceOptions {
  shared: SharedState;
  /** This edge's id. */
  edge: string;
  /** How long an entry counts without renewal. @default 5000 */
  leaseMs?: number;
  /** How often this edge renews its entries. @default 1500 */
  renewMs?: number;
  /** How long the first question about a tenant waits for its state. @default 300 */
  syncWaitMs?: number;
  /** How long a tenant nobody here asked about stays replicated. @default 600000 */
  lingerMs?: number;
  now?: () => number;
}

interface Watched {
  /** When last asked about. */
  asked: number;
  /** Sockets of the tenant open here. */
  sockets: number;
  /** Settles once the tenant's state arrived, or after the sync wait. */
  synced: Promise<void>;
}

const rank: Record<AgentStatus, number> = { offline: 0, away: 1, online: 2 };

/** Writes this edge's agents into the presence map and reads everyone's. */
export class Presence {
  readonly #shared: SharedState;
  readonly #edge: string;
  readonly #leaseMs: number;
  readonly #syncWaitMs: number;
  readonly #lingerMs: number;
  readonly #now: () => number;
  /** `tenant` → agent → what this edge says of it, and how many sockets it holds. */
  readonly #local = new Map<string, Map<string, { entry: PresenceEntry; sockets: number }>>();
  /** Tenants replicated here. */
  readonly #tenants = new Map<string, Watched>();
  /** Tenants whose state has not arrived yet → what ends the wait. */
  readonly #syncing = new Map<string, () => void>();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(options: PresenceOptions) {
    this.#shared = options.shared;
    this.#edge = options.edge;
    this.#leaseMs = options.leaseMs ?? 5000;
    this.#syncWaitMs = options.syncWaitMs ?? 300;
    this.#lingerMs = options.lingerMs ?? 600_000;
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => {
      this.#renew();
      this.#forgetIdleTenants();
    }, options.renewMs ?? 1500);
    this.#shared.presence.onChange((tenant) => this.#synced(tenant));
  }

  /** A socket of the tenant opened here: its tenant is replicated while any is open. */
  open(tenant: string): void {
    this.#watch(tenant).sockets++;
  }

  /** A socket of the tenant closed here. */
  closed(tenant: string): void {
    const watched = this.#tenants.get(tenant);
    if (watched) watched.sockets--;
  }

  /** Replicate the tenant here (if not yet) and wait until its state is known. */
  watched(tenant: string): Promise<void> {
    return this.#watch(tenant).synced;
  }

  /** An agent's socket opened here: the first one makes it online. */
  connect(tenant: string, agent: string): void {
    const local = this.#localOf(tenant);
    const held = local.get(agent);
    if (held) return void held.sockets++;
    local.set(agent, { entry: this.#entry("online", {}), sockets: 1 });
    this.#write(tenant, agent);
  }

  /** An agent's socket closed here: with its last one, this edge's entry goes. */
  release(tenant: string, agent: string): void {
    const local = this.#local.get(tenant);
    const held = local?.get(agent);
    if (!local || !held) return;
    if (--held.sockets > 0) return;
    local.delete(agent);
    if (local.size === 0) this.#local.delete(tenant);
    this.#shared.presence.update(
      tenant,
      (map) => map.remove(presenceKey(agent, this.#edge), this.#shared.clock.now()),
    );
  }

  /** Set the status (and profile) of an agent with a socket here. */
  set(tenant: string, agent: string, status: AgentStatus, profile: AgentProfile = {}): void {
    const held = this.#local.get(tenant)?.get(agent);
    if (!held) return;
    held.entry = this.#entry(status, { ...held.entry, ...definedOf(profile) });
    this.#write(tenant, agent);
  }

  /** The tenant's agents with an unexpired entry, as replicated here. */
  async agents(tenant: string): Promise<AgentPresence[]> {
    await this.watched(tenant);
    const now = this.#now();
    const agents = new Map<string, { best: PresenceEntry; edges: string[] }>();
    for (const [key, entry] of this.#shared.presence.get(tenant).value) {
      if (entry.leaseUntil < now) continue;
      const agent = agentOfKey(key);
      const seen = agents.get(agent);
      if (!seen) agents.set(agent, { best: entry, edges: [entry.edge] });
      else {
        seen.edges.push(entry.edge);
        if (better(entry, seen.best)) seen.best = entry;
      }
    }
    return [...agents].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0).map(([agent, seen]) => ({
      agent,
      status: seen.best.status,
      capacity: seen.best.capacity,
      skills: seen.best.skills,
      languages: seen.best.languages,
      teams: seen.best.teams,
      edges: seen.edges.sort(),
    }));
  }

  /** How many of the tenant's agents are online on any edge. */
  async onlineAgents(tenant: string): Promise<number> {
    return (await this.agents(tenant)).filter((agent) => agent.status === "online").length;
  }

  /** Stop renewing; the entries expire with their leases unless released first. */
  close(): void {
    clearInterval(this.#timer);
  }

  #entry(status: AgentStatus, profile: AgentProfile): PresenceEntry {
    return {
      status,
      capacity: profile.capacity ?? 1,
      skills: profile.skills ?? [],
      languages: profile.languages ?? [],
      teams: profile.teams ?? [],
      leaseUntil: this.#now() + this.#leaseMs,
      edge: this.#edge,
    };
  }

  #write(tenant: string, agent: string): void {
    const { entry } = this.#local.get(tenant)!.get(agent)!;
    this.#shared.presence.update(
      tenant,
      (map) => map.put(presenceKey(agent, this.#edge), entry, this.#shared.clock.now()),
    );
  }

  #renew(): void {
    const leaseUntil = this.#now() + this.#leaseMs;
    for (const [tenant, local] of this.#local) {
      for (const [agent, held] of local) {
        held.entry = { ...held.entry, leaseUntil };
        this.#write(tenant, agent);
      }
    }
  }

  #localOf(tenant: string): Map<string, { entry: PresenceEntry; sockets: number }> {
    let local = this.#local.get(tenant);
    if (!local) this.#local.set(tenant, local = new Map());
    return local;
  }

  // The first watch of a tenant asks the peers for their digests and waits
  // (briefly) until the tenant's state arrives, so the first bootstrap of a
  // tenant on this edge does not answer from nothing.
  #watch(tenant: string): Watched {
    const known = this.#tenants.get(tenant);
    if (known) {
      known.asked = this.#now();
      return known;
    }
    const watched: Watched = { asked: this.#now(), sockets: 0, synced: Promise.resolve() };
    watched.synced = new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#synced(tenant), this.#syncWaitMs);
      this.#syncing.set(tenant, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#tenants.set(tenant, watched);
    this.#shared.watch(tenant);
    return watched;
  }

  #synced(tenant: string): void {
    this.#syncing.get(tenant)?.();
    this.#syncing.delete(tenant);
  }

  #forgetIdleTenants(): void {
    const cutoff = this.#now() - this.#lingerMs;
    for (const [tenant, { asked, sockets }] of this.#tenants) {
      if (asked >= cutoff || sockets > 0) continue;
      this.#synced(tenant);
      this.#tenants.delete(tenant);
      this.#shared.unwatch(tenant);
    }
  }
}

function better(a: PresenceEntry, b: PresenceEntry): boolean {
  return rank[a.status] > rank[b.status] ||
    (rank[a.status] === rank[b.status] && a.leaseUntil > b.leaseUntil);
}

function definedOf(profile: AgentProfile): AgentProfile {
  return Object.fromEntries(Object.entries(profile).filter(([, value]) => value !== undefined));
}
