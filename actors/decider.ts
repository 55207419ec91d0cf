/**
 * The contract every actor's business logic satisfies: a pure decider.
 *
 * Deciders never do I/O. The runtime (cluster/host.ts) loads state, calls
 * {@linkcode Decider.decide}, commits the events, folds them with
 * {@linkcode Decider.evolve}, and only then replies.
 *
 * @module
 */

/** Who issues a command, taken from the caller's verified token. */
export interface Caller {
  sub: string;
  role: "visitor" | "agent" | "supervisor" | "admin";
}

/** The `by` of events an actor emits on its own, e.g. on an SLA breach. */
export const systemSub = "system";

/** Milliseconds in a minute: tenant settings count minutes, actors' clocks milliseconds. */
export const MINUTE = 60_000;

/** Identity of one actor: its kind, the tenant that owns it and its id. */
export interface ActorAddress {
  kind: string;
  tenant: string;
  id: string;
}

/** What the runtime tells a decider about the command being decided. */
export interface DecideContext {
  /** Wall-clock time of the turn in epoch milliseconds. */
  now: number;
  /** The actor deciding. */
  actor: ActorAddress;
  /** The idempotency key of the command (client keys come scoped to their principal). */
  commandId: string;
  /** Tenant settings relevant to deciding (SLA policy, reopen window …). */
  tenant: TenantSettings;
}

/** Per-tenant settings the runtime hands to deciders. */
export interface TenantSettings {
  /** SLA targets in minutes by priority. */
  sla: Record<Priority, { firstResponseMinutes: number; resolutionMinutes: number }>;
  /** How long after closing a ticket may still be reopened, in minutes. */
  reopenWindowMinutes: number;
  /** Live chat clocks, in minutes. */
  chat: {
    /** How long a visitor waits for an agent before the chat becomes a ticket. */
    waitLimitMinutes: number;
    /** How long an assigned chat may go without a message before it closes. */
    idleCloseMinutes: number;
  };
  /** The tenant's chat widget, when it has one. */
  widget?: WidgetSettings;
  /** How the tenant's queue routes work; {@linkcode defaultRoutingSettings} when absent. */
  routing?: RoutingSettings;
}

/** How a tenant's queue actor hands out work. */
export interface RoutingSettings {
  /** Seconds an agent has to accept an offer; 0 assigns directly, without offers. */
  offerSeconds: number;
  /** What an agent takes at once unless its availability says otherwise. */
  capacity: { chats: number; tickets: number };
  /** Steps that relax an item's requirements the longer it waits, earliest first. */
  relaxation: RelaxationStep[];
  /** Seconds a gone agent keeps its work before it returns to the queue. */
  releaseAfterSeconds: number;
  /** Items that may wait at once; chats past it are refused, tickets wait in the store. */
  maxWaiting: number;
  /** The router that decides: a built-in's name or a plugin's; `least-loaded` when absent. */
  router?: string;
  /** The options handed to that router. */
  routerOptions?: Record<string, unknown>;
}

/**
 * After `afterMs` of waiting, drop an item's optional skills, or its required
 * skills and language as well (any agent of the item's team will do).
 */
export interface RelaxationStep {
  afterMs: number;
  drop: "optional" | "required";
}

/**
 * Routing for a tenant that has not configured it: no offers (work is
 * assigned directly), 3 chats and 10 tickets per agent, no relaxation, two
 * minutes before a gone agent's work returns to the queue, 1,000 waiting.
 */
export const defaultRoutingSettings: RoutingSettings = {
  offerSeconds: 0,
  capacity: { chats: 3, tickets: 10 },
  relaxation: [],
  releaseAfterSeconds: 120,
  maxWaiting: 1_000,
};

/** How a tenant's pages start chats: the key they embed and how visitors are vouched for. */
export interface WidgetSettings {
  /** Public (pages embed it); names the tenant to the widget bootstrap. */
  key: string;
  /** Secret shared with the tenant's servers, which sign visitor ids with it (HMAC-SHA256). */
  identitySecret?: string;
  /** Refuse visitors whose id is not signed. */
  requireIdentity?: boolean;
  /** Origins (`https://shop.example`) whose pages may embed the widget; absent: any. */
  allowedOrigins?: string[];
  /**
   * What a visitor's chat may be about, by the name the tenant's pages pass
   * (`topic`), each with the skills its agents need; a page cannot name others.
   */
  topics?: Record<string, WidgetTopic>;
  /**
   * Languages (BCP 47) the tenant's agents serve in: a visitor whose browser
   * language matches one waits for an agent who speaks it; absent or no match:
   * routed without a language.
   */
  languages?: string[];
}

/** The skills a widget topic asks of the agent who takes its chats. */
export interface WidgetTopic {
  /** Skills the agent must have (until the tenant's relaxation drops them). */
  skills?: string[];
  /** Skills preferred but not needed. */
  optionalSkills?: string[];
}

/**
 * Settings for a tenant that has not configured its own: first response
 * within 15 minutes to 8 hours and resolution within 4 to 72 hours by
 * priority, a week in which a closed ticket may be reopened, five minutes
 * for a visitor to wait for an agent and half an hour for a quiet chat to
 * stay open.
 */
export const defaultTenantSettings: TenantSettings = {
  sla: {
    low: { firstResponseMinutes: 480, resolutionMinutes: 4320 },
    normal: { firstResponseMinutes: 240, resolutionMinutes: 1440 },
    high: { firstResponseMinutes: 60, resolutionMinutes: 480 },
    urgent: { firstResponseMinutes: 15, resolutionMinutes: 240 },
  },
  reopenWindowMinutes: 7 * 24 * 60,
  chat: { waitLimitMinutes: 5, idleCloseMinutes: 30 },
};

/** What a tenant stores of its settings; the rest takes the defaults. */
export interface StoredTenantSettings {
  sla?: Partial<TenantSettings["sla"]>;
  reopenWindowMinutes?: number;
  chat?: Partial<TenantSettings["chat"]>;
  widget?: WidgetSettings;
  routing?: Partial<Omit<RoutingSettings, "capacity">> & {
    capacity?: Partial<RoutingSettings["capacity"]>;
  };
}

/** Ticket and work-item priorities, lowest first. */
export type Priority = "low" | "normal" | "high" | "urgent";

/** Why a command was refused. `code` is stable and machine-readable. */
export interface Rejection {
  code: string;
  message: string;
  /** The field at fault, for validation errors. */
  field?: string;
  /** Extra facts the caller needs, e.g. the current owner of a claimed ticket. */
  details?: Record<string, unknown>;
}

/** The outcome of deciding: new events (possibly none), or a rejection. */
export type Decision<E> = { events: E[] } | { reject: Rejection };

/** A durable timer wanted by the current state: fire `name` at `at` (epoch ms). */
export interface TimerSpec {
  name: string;
  at: number;
}

/** The query-side row an actor keeps current, written with its events. */
export interface Projection {
  status: string;
  assignee: string | null;
  createdAt: number;
  updatedAt: number;
  /** The document served by list queries. */
  doc: Record<string, unknown>;
}

/** The command the runtime delivers when a durable timer is due. */
export type TimerCommand = {
  type: "timer";
  name: string;
  at: number;
};

/** A pure decider for one actor kind. */
export interface Decider<S, C, E extends { type: string }> {
  /** The actor kind this decider serves, e.g. `ticket`. */
  kind: string;
  /** State of an actor that has no events yet. */
  initial(address: ActorAddress): S;
  /** Decide what a command means in the current state. Pure. */
  decide(state: S, command: C | TimerCommand, ctx: DecideContext): Decision<E>;
  /** Fold one event into the state. Pure and total. */
  evolve(state: S, event: E): S;
  /**
   * A state read back from a snapshot, which may be of an older version, as
   * this version keeps it (say, reshaped for speed); as it is by default.
   */
  revive?(state: S): S;
  /** The durable timers this state wants, if any. */
  timers?(state: S): TimerSpec[];
  /** The query-side row for this state, or null while it has none. */
  project?(state: S): Projection | null;
  /** What a successful command answers with; the state itself by default. */
  view?(state: S): unknown;
  /**
   * The few facts of a command's answer a retry must get as they were (say,
   * the number of the message a send wrote), kept with its idempotency
   * record; a retry answers the current view with these laid over it.
   */
  receipt?(state: S): Record<string, unknown>;
  /**
   * Whether committed events are pushed to the processes watching the actor
   * (live conversations); the log is the truth either way.
   */
  pushed?: boolean;
  /**
   * Commands this event sends to other actors. The runtime stores them with
   * the event (an outbox) and delivers each at least once after the commit;
   * `commandId` must be derived from the event so redelivery has no effect.
   */
  effects?(state: S, event: E, address: ActorAddress): Effect[];
}

/** A command one actor sends another, delivered at least once. */
export interface Effect {
  address: ActorAddress;
  command: { type: string; [field: string]: unknown };
  commandId: string;
}

/** Short-hand for deciders: reject with a code. */
export function reject(code: string, message: string, extra: Partial<Rejection> = {}): {
  reject: Rejection;
} {
  return { reject: { code, message, ...extra } };
}
