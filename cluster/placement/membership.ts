/**
 * Cluster membership over the bus (DESIGN §4): every process announces
 * itself by heartbeat, and every process derives the same view from what it
 * hears — the sorted ids of the live nodes, which the ring places actors on.
 *
 * - A member silent for `deadAfterMs` is dead; one that leaves says so and is
 *   dropped at once.
 * - While this process cannot hear the bus, it keeps its last view rather
 *   than declaring every peer dead (which would make a node claim every
 *   actor), and gives its peers a fresh `deadAfterMs` once it hears again.
 *
 * @module
 */
import { hash32 } from "./hash.ts";
import { createLogger, type Logger } from "../telemetry/log.ts";
import type { Subscription, Transport } from "../transport/transport.ts";

/** Whether a member hosts actors (`node`) or terminates client connections (`edge`). */
export type MemberRole = "node" | "edge";

/** What this process knows of the cluster. */
export interface MembershipView {
  /**
   * Counts the changes of `nodes` this process has seen. It is local: two
   * processes with the same nodes may have different epochs; compare `viewId`.
   */
  readonly epoch: number;
  /** Sorted ids of the live nodes — the list every process agrees on. Frozen. */
  readonly nodes: string[];
  /** Sorted ids of the live edges. Frozen. */
  readonly edges: string[];
  /** A hash of `nodes`: equal across processes that hold the same nodes. */
  readonly viewId: string;
}

/** Options of {@linkcode Membership}. */
export interface MembershipOptions {
  transport: Transport;
  /** The cluster's subject prefix. */
  cluster: string;
  /** This process's id, unique in the cluster. */
  id: string;
  role: MemberRole;
  /** How often this process announces itself; 250 by default. */
  heartbeatMs?: number;
  /**
   * How long a member may stay silent before it counts as dead; 1000 by
   * default. Keep it above three heartbeats: a process notices that it
   * cannot hear the bus after two, and must notice before it expires peers.
   */
  deadAfterMs?: number;
  /** A monotonic clock in ms for liveness; `performance.now` by default. */
  now?: () => number;
  logger?: Logger;
}

/** A heartbeat or a leave, as sent on the bus. */
interface Announcement {
  id: string;
  role: MemberRole;
  startedAt: number;
}

interface Member {
  role: MemberRole;
  lastSeen: number;
}

// How often silent members are looked for.
const CHECK_MS = 100;

/**
 * This process's membership in the cluster. `start()` begins announcing it
 * and following the others (register `onChange` listeners first to see
 * every view); `stop()` ends both.
 */
export class Membership {
  /**
   * Resolves once this process has listened, connected, for `deadAfterMs`
   * after `start()` (or after hearing the bus again following an outage) —
   * long enough that a live peer has been heard and a peer still unheard
   * counts as dead everywhere, so the view is the one the others hold. A node
   * must not claim actors before. Also resolves on `stop()`.
   */
  readonly ready: Promise<void>;

  readonly #transport: Transport;
  readonly #id: string;
  readonly #role: MemberRole;
  readonly #heartbeatMs: number;
  readonly #deadAfterMs: number;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #subjects: { heartbeat: string; leave: string };
  readonly #startedAt = Date.now();
  readonly #members = new Map<string, Member>();
  readonly #listeners: ((view: MembershipView) => void)[] = [];
  #subscriptions: Subscription[] = [];
  readonly #becameReady: () => void;
  #view: MembershipView;
  #started = false;
  #announcing = true;
  #heartbeat?: ReturnType<typeof setInterval>;
  #check?: ReturnType<typeof setInterval>;
  // When this process last heard its own heartbeat come back: proof that the
  // bus carried its messages both ways.
  #echoedAt = 0;
  // Whether the last check found the bus unreachable (view frozen).
  #deaf = false;
  #listeningSince = 0;
  #impostor = false;

  constructor(options: MembershipOptions) {
    this.#transport = options.transport;
    this.#id = options.id;
    this.#role = options.role;
    this.#heartbeatMs = options.heartbeatMs ?? 250;
    this.#deadAfterMs = options.deadAfterMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
    this.#logger = options.logger ??
      createLogger({ component: "membership", node: options.id, role: options.role });
    this.#subjects = {
      heartbeat: `${options.cluster}.members.heartbeat`,
      leave: `${options.cluster}.members.leave`,
    };
    const { promise, resolve } = Promise.withResolvers<void>();
    this.ready = promise;
    this.#becameReady = resolve;
    this.#view = options.role === "node" ? view(0, [options.id], []) : view(0, [], [options.id]);
  }

  /** Start announcing this process and following the others; later calls do nothing. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#echoedAt = this.#listeningSince = this.#now();
    this.#subscriptions = [
      this.#transport.subscribe(this.#subjects.heartbeat, (payload) => this.#heard(payload)),
      this.#transport.subscribe(this.#subjects.leave, (payload) => this.#left(payload)),
    ];
    if (this.#announcing) {
      this.#announce();
      this.#heartbeat = setInterval(() => this.#announce(), this.#heartbeatMs);
    }
    this.#check = setInterval(() => this.#expire(), CHECK_MS);
  }

  /** The id of the current view: a hash of its nodes, equal across processes that agree. */
  get viewId(): string {
    return this.#view.viewId;
  }

  /** The current view. */
  get view(): MembershipView {
    return this.#view;
  }

  /** Call `listener` with every new view: a change of the live nodes or edges. */
  onChange(listener: (view: MembershipView) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Announce that this process is leaving: peers drop it at once, and it
   * stops announcing itself but keeps following the others — a draining
   * node still routes the work it finishes. Its own view no longer lists it.
   */
  leave(): void {
    if (!this.#announcing) return;
    this.#announcing = false;
    clearInterval(this.#heartbeat);
    this.#transport.publish(this.#subjects.leave, this.#announcement());
    this.#update();
  }

  /**
   * Leave, and stop following the cluster; it cannot start again. The
   * transport stays open: it is the caller's.
   */
  stop(): void {
    this.leave();
    this.#started = true;
    clearInterval(this.#check);
    for (const subscription of this.#subscriptions) subscription.close();
    this.#becameReady();
  }

  #announcement(): Announcement {
    return { id: this.#id, role: this.#role, startedAt: this.#startedAt };
  }

  #announce(): void {
    this.#transport.publish(this.#subjects.heartbeat, this.#announcement());
  }

  #heard(payload: unknown): void {
    if (!isAnnouncement(payload)) {
      this.#logger.warn("ignored a malformed heartbeat", { payload: String(payload) });
      return;
    }
    const now = this.#now();
    if (payload.id === this.#id) {
      if (payload.startedAt !== this.#startedAt && !this.#impostor) {
        this.#impostor = true;
        this.#logger.error("another process announces this id", { id: payload.id });
      }
      this.#echoedAt = now;
      return;
    }
    const known = this.#members.get(payload.id);
    this.#members.set(payload.id, { role: payload.role, lastSeen: now });
    if (known?.role !== payload.role) this.#update();
  }

  #left(payload: unknown): void {
    if (!isAnnouncement(payload)) {
      this.#logger.warn("ignored a malformed leave", { payload: String(payload) });
      return;
    }
    if (payload.id !== this.#id && this.#members.delete(payload.id)) this.#update();
  }

  #expire(): void {
    const now = this.#now();
    if (!this.#hearing(now)) {
      if (!this.#deaf) this.#logger.warn("cannot hear the cluster; keeping the last view");
      this.#deaf = true;
      return;
    }
    if (this.#deaf) {
      // Peers' heartbeats were lost with the bus, not with the peers: each
      // gets a full deadAfterMs to be heard again before it counts as dead.
      this.#deaf = false;
      this.#listeningSince = now;
      for (const member of this.#members.values()) member.lastSeen = now;
      this.#logger.info("hearing the cluster again");
      return;
    }
    let changed = false;
    for (const [id, member] of this.#members) {
      if (now - member.lastSeen > this.#deadAfterMs) {
        this.#members.delete(id);
        this.#logger.warn("member silent, counted dead", { member: id, role: member.role });
        changed = true;
      }
    }
    if (changed) this.#update();
    if (now - this.#listeningSince >= this.#deadAfterMs) this.#becameReady();
  }

  // A process that announces itself hears its own heartbeats come back while
  // the bus works, which also catches a dead link the client has not noticed
  // yet. Two missed echoes come well before any peer's deadAfterMs runs out.
  #hearing(now: number): boolean {
    if (!this.#announcing) return this.#transport.connected;
    return now - this.#echoedAt <= 2 * this.#heartbeatMs;
  }

  #update(): void {
    const ids: Record<MemberRole, string[]> = { node: [], edge: [] };
    if (this.#announcing) ids[this.#role].push(this.#id);
    for (const [id, member] of this.#members) ids[member.role].push(id);
    const previous = this.#view;
    const nodes = ids.node.sort();
    const edges = ids.edge.sort();
    const nodesChanged = !sameIds(nodes, previous.nodes);
    if (!nodesChanged && sameIds(edges, previous.edges)) return;
    this.#view = view(previous.epoch + (nodesChanged ? 1 : 0), nodes, edges);
    for (const listener of this.#listeners) {
      try {
        listener(this.#view);
      } catch (error) {
        this.#logger.error("a membership listener failed", { error: `${error}` });
      }
    }
  }
}

// Every listener and reader shares one view, so it is frozen all the way
// down, though its lists are typed as plain arrays for callers to pass on.
function view(epoch: number, nodes: string[], edges: string[]): MembershipView {
  return Object.freeze({
    epoch,
    nodes: Object.freeze(nodes) as string[],
    edges: Object.freeze(edges) as string[],
    viewId: hash32(nodes.join("\n")).toString(16).padStart(8, "0"),
  });
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function isAnnouncement(payload: unknown): payload is Announcement {
  if (typeof payload !== "object" || payload === null) return false;
  const { id, role, startedAt } = payload as Record<string, unknown>;
  return typeof id === "string" && (role === "node" || role === "edge") &&
    typeof startedAt === "number";
}
