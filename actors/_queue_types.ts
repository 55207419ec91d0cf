// The queue's vocabulary: items and agents, the commands it takes, the
// events and state they make, and the bounds those commands are held to.
// queue.ts publishes it; the decider's parts import it from here rather than
// from queue.ts, which imports them.
import type { Caller, Priority, RelaxationStep } from "./decider.ts";

/** The kinds of work a queue hands out. */
export type ItemKind = "chat" | "ticket";

/** Names one chat (by session id) or ticket. */
export interface ItemRef {
  kind: ItemKind;
  id: string;
}

/** Whether an agent takes work: only `online` agents are routed to. */
export type AgentStatus = "online" | "away" | "offline";

/** Capacities or loads, by kind of work. */
export interface PerKind {
  chats: number;
  tickets: number;
}

/** What an item arrives with. */
export interface ItemInput extends ItemRef {
  priority?: Priority;
  tags?: string[];
  skills?: { required?: string[]; optional?: string[] };
  language?: string | null;
  team?: string | null;
  /** The agent who served this visitor or ticket before, for sticky routers. */
  previousAgent?: string | null;
  /**
   * The chat's visitor, as its session knows them: the queue remembers who
   * served each visitor last, and a visitor's next chat arrives with that
   * agent as its previous agent unless it names one.
   */
  visitor?: string | null;
}

/**
 * How a chat or ticket left the queue's hands: the first three hand it to an
 * agent by hand (the `agent` of the command), the rest end it.
 */
export const leaveReasons = [
  "claimed",
  "assigned",
  "transferred",
  "closed",
  "resolved",
  "converted",
] as const;

/** One of {@linkcode leaveReasons}. */
export type LeaveReason = typeof leaveReasons[number];

/** What a router decided for one item; the shape of the plugin SDK's decision. */
export type RouteOutcome =
  | { assign: string; reason?: string }
  | { wait: Record<string, unknown>; reason?: string }
  | { escalate: Record<string, unknown>; reason?: string };

/** Commands a queue accepts. They come from the runtime and the edges, never from clients directly. */
export type QueueCommand =
  | { type: "arrive"; item: ItemInput }
  | { type: "leave"; item: ItemRef; reason: LeaveReason; agent?: string }
  /** Back to waiting: unassigned, or transferred to a team (`team` is then the new one). */
  | { type: "requeue"; item: ItemRef; team?: string | null }
  | {
    type: "availability";
    agent: string;
    status: AgentStatus;
    capacity?: Partial<PerKind>;
    skills?: string[];
    languages?: string[];
    teams?: string[];
  }
  | { type: "agent_gone"; agent: string }
  | {
    type: "route_decision";
    item: ItemRef;
    decision: RouteOutcome;
    router: string;
    version: string;
    candidates: { id: string; score: number }[];
    rule: string;
  }
  | { type: "accept"; item: ItemRef; by: Caller }
  | { type: "decline"; item: ItemRef; by: Caller }
  /**
   * The runtime found no more backlogged tickets than it sent back: the
   * backlog is empty unless a ticket overflowed since `generation`.
   */
  | { type: "backlog_drained"; generation: number };

/** The bounds the queue enforces, for validators that want to agree. */
export const queueLimits = {
  idChars: 200,
  /** Skills, tags, languages, teams, router names and versions. */
  nameChars: 80,
  ruleChars: 200,
  tags: 20,
  skills: 50,
  languages: 20,
  teams: 20,
  capacity: 1_000,
  agents: 2_000,
  /** Candidates a route decision may list. */
  candidates: 500,
  /** Candidates kept in an assignment's explanation, the best scored. */
  explainedCandidates: 10,
  /** Agents an item remembers having passed on it. */
  passed: 20,
  /** Visitors whose last agent the queue remembers, the most recently served. */
  rememberedVisitors: 1_000,
  /** Assignment times kept per kind for the wait estimate. */
  recentAssignments: 20,
} as const;

/** Why a chat or ticket went where it went. */
export interface Explanation {
  router: string;
  version: string;
  rule: string;
  /** The best scored candidates, best first. */
  candidates: { id: string; score: number }[];
  reason: string | null;
}

/** A chat or ticket the queue knows of: waiting while `holder` is null. */
export interface QueueItem extends ItemRef {
  priority: Priority;
  tags: string[];
  skills: { required: string[]; optional: string[] };
  language: string | null;
  team: string | null;
  /** When it arrived; its wait, and so its relaxation, runs from here. */
  arrivedAt: number;
  previousAgent: string | null;
  /** The chat's visitor, whose last agent the queue remembers (absent in older states). */
  visitor?: string | null;
  /**
   * The agent the queue took it back from (released from a gone agent, or
   * requeued), whom its next assignment replaces in the item's own actor;
   * absent in older states, where `previousAgent` said it.
   */
  releasedFrom?: string | null;
  /** The tenant's relaxation steps as of arrival, so later edits move no deadline. */
  relaxation: RelaxationStep[];
  /** How many relaxation steps have fired. */
  relaxed: number;
  /** Agents who declined it or let its offer lapse; not offered it again. */
  passed: string[];
  /** Why a router escalated it; escalated items wait for a person, not a router. */
  escalated: string | null;
  holder: string | null;
}

/** Items by key, split into shards by a hash of the key; treat as read-only. */
export type ItemShards = readonly Readonly<Record<string, QueueItem>>[];

/** What the queue knows of one agent. */
export interface AgentState {
  id: string;
  status: AgentStatus;
  capacity: PerKind;
  skills: string[];
  languages: string[];
  teams: string[];
  lastAssignedAt: number | null;
  /** While gone: when what it holds returns to the queue. */
  releaseAt: number | null;
}

/** An offer waiting for the agent's answer. */
export interface Offer {
  item: ItemRef;
  agent: string;
  deadline: number;
  explanation: Explanation;
}

/** The state of one queue. */
export interface QueueState {
  tenant: string;
  id: string;
  /**
   * Every item waiting or held, by {@linkcode itemKey} in shards (read with
   * {@linkcode itemAt} and {@linkcode allItems}); one holder each by construction.
   */
  items: ItemShards;
  agents: Record<string, AgentState>;
  /** Outstanding offers by item key. */
  offers: Record<string, Offer>;
  /** The latest times items of each kind left the queue for an agent, oldest first. */
  recentAssignments: Record<ItemKind, number[]>;
  /**
   * Who last held a chat of each visitor, and when, for at most
   * {@linkcode queueLimits.rememberedVisitors} visitors (absent in older states).
   */
  lastAgents?: Record<string, { agent: string; at: number }>;
  /**
   * Whether tickets wait in the store beyond the queue's window (see
   * {@linkcode QueueBacklog}); absent in older states, and until a ticket
   * first overflows.
   */
  backlog?: QueueBacklog;
  updatedAt: number;
}

/**
 * Tickets refused for room wait in the store, open and unassigned, until the
 * runtime brings them back. `generation` counts the overflows, so a drain
 * the runtime saw before the latest one cannot clear the flag.
 */
export interface QueueBacklog {
  open: boolean;
  generation: number;
}

/** Events of a queue; each names what it touched and when. */
export type QueueEvent =
  | { type: "arrived"; at: number; item: Omit<QueueItem, "holder"> }
  | { type: "left"; at: number; item: ItemRef; reason: LeaveReason; agent: string | null }
  | { type: "requeued"; at: number; item: ItemRef; from: string | null; team: string | null }
  | ({ type: "availability_changed"; at: number } & Omit<AgentState, "lastAssignedAt">)
  | { type: "agent_gone"; at: number; agent: string; releaseAt: number }
  | { type: "agent_away"; at: number; agent: string; reason: "offer_timeout" }
  | { type: "offered"; at: number; item: ItemRef; agent: string; deadline: number } & {
    explanation: Explanation;
  }
  | {
    type: "assigned";
    at: number;
    item: ItemRef;
    agent: string;
    via: "router" | "offer";
    explanation: Explanation;
  }
  | { type: "declined"; at: number; item: ItemRef; agent: string }
  | { type: "offer_expired"; at: number; item: ItemRef; agent: string }
  | { type: "escalated"; at: number; item: ItemRef; reason: string }
  | { type: "relaxed"; at: number; item: ItemRef; step: number }
  /** A ticket found no room: it waits in the store, open and unassigned. */
  | { type: "backlogged"; at: number; item: ItemRef }
  | { type: "backlog_drained"; at: number; generation: number }
  | { type: "released"; at: number; agent: string; items: ItemRef[] };

/** Work the router may be asked about: a waiting item and the agents that may take it. */
export interface RoutableWork {
  item: QueueItem;
  candidates: AgentState[];
}

/** What a router is given; the same fields as the plugin SDK's input. */
export interface RoutingInput {
  item: {
    tenant: string;
    kind: ItemKind;
    id: string;
    priority: Priority;
    tags: string[];
    skills: { required: string[]; optional: string[] };
    language: string | null;
    team: string | null;
    waitedMs: number;
    previousAgent: string | null;
  };
  candidates: {
    id: string;
    status: AgentStatus;
    skills: string[];
    languages: string[];
    teams: string[];
    load: PerKind;
    capacity: PerKind;
    lastAssignedAt: number | null;
  }[];
}

/** A waiting item's place in its kind's queue (1 is next) and estimated wait. */
export interface QueuePosition {
  item: ItemRef;
  position: number;
  estimatedWaitMs: number | null;
}
