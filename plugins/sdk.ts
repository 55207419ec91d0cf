/**
 * The routing plugin SDK: the types a plugin author needs and nothing else.
 * It has no runtime code, so a plugin imports it with `import type` and runs
 * in the sandbox (a child process with no permissions) without any file of
 * Switchboard's.
 *
 * A plugin is an ES module whose default export is a {@linkcode RoutingPlugin}.
 * For each waiting item the queue asks the tenant's router where it should
 * go; the router answers {@linkcode Decision}: assign it to one of the
 * candidates, let it wait, or escalate it. The queue checks the answer (the
 * agent is a candidate, online, with room for the item's kind) before it
 * assigns; an answer that fails the check falls back to the least-loaded
 * router.
 *
 * @example A tiny plugin: the online candidate with room who has the fewest items
 * ```ts
 * import type { RoutingPlugin } from "./sdk.ts";
 *
 * export default {
 *   name: "fewest-items",
 *   version: "1.0.0",
 *   route({ item, candidates }) {
 *     const free = candidates.filter((c) =>
 *       c.status === "online" && c.load[item.kind] < c.capacity[item.kind]
 *     );
 *     if (free.length === 0) return { wait: { reason: "nobody has room" } };
 *     const total = (c: (typeof free)[number]) => c.load.chat + c.load.ticket;
 *     const best = free.reduce((a, b) => (total(b) < total(a) ? b : a));
 *     return { assign: best.id, reason: `fewest open items (${total(best)})` };
 *   },
 * } satisfies RoutingPlugin;
 * ```
 *
 * @module
 */

/** What a queue routes: a live chat conversation or a ticket. */
export type ItemKind = "chat" | "ticket";

/** An agent's presence as the queue last heard of it. */
export type AgentStatus = "online" | "away" | "offline";

/** A plain JSON value, as tenants' options are stored. */
export type Json = null | boolean | number | string | readonly Json[] | {
  readonly [key: string]: Json;
};

/** Open items per kind, or the most an agent takes per kind. */
export interface PerKind {
  readonly chat: number;
  readonly ticket: number;
}

/** The item waiting for an agent. */
export interface RouteItem {
  /** The tenant the item and every candidate belong to. */
  readonly tenant: string;
  readonly kind: ItemKind;
  /** The conversation's or ticket's id. */
  readonly id: string;
  /** Higher goes first; 0 is normal. */
  readonly priority: number;
  /** Free-form labels, e.g. `vip`. */
  readonly tags: readonly string[];
  /** Skills an agent must have, all of them. */
  readonly requiredSkills: readonly string[];
  /** Skills that make an agent a better fit. */
  readonly optionalSkills: readonly string[];
  /** The visitor's language (BCP 47, e.g. `de`), if known. */
  readonly language?: string;
  /** The team whose queue holds the item, if any. */
  readonly team?: string;
  /** How long the item has waited so far, in milliseconds. */
  readonly waitedMs: number;
  /** The agent who last held this conversation or ticket, if any. */
  readonly previousAgent?: string;
}

/** An agent the item could go to. */
export interface Candidate {
  /** The agent's id, what {@linkcode AssignDecision.assign} names. */
  readonly id: string;
  /** Only `online` agents may be assigned. */
  readonly status: AgentStatus;
  readonly skills: readonly string[];
  /** Languages the agent speaks (BCP 47). */
  readonly languages: readonly string[];
  readonly teams: readonly string[];
  /** Items the agent holds now, exact, per kind. */
  readonly load: PerKind;
  /** The most items the agent takes per kind; room means `load < capacity`. */
  readonly capacity: PerKind;
  /** When the agent was last assigned anything (epoch ms), or `null` if never. */
  readonly lastAssignedAt: number | null;
  /** How long the agent's load has stayed as it is (since its last assignment or release), in ms. */
  readonly idleSinceMs: number;
  /** Months of experience, when the tenant records it. */
  readonly experience?: number;
}

/** Everything a router is asked with. */
export interface RouteInput {
  readonly item: RouteItem;
  /** The agents the queue considers, in no particular order. */
  readonly candidates: readonly Candidate[];
  /** The tenant's options for this router, as registered. */
  readonly options: { readonly [key: string]: Json };
}

/** How well a candidate scored, so that an assignment can say why. */
export interface CandidateScore {
  readonly agentId: string;
  readonly score: number;
}

/** What every decision may carry. */
export interface DecisionBase {
  /** The candidates considered with their scores, best first. */
  readonly scores?: readonly CandidateScore[];
}

/** Give the item to this candidate now. */
export interface AssignDecision extends DecisionBase {
  /** A candidate's id: online, with room for the item's kind. */
  readonly assign: string;
  readonly reason?: string;
}

/** Leave the item waiting; it is routed again on the next change. */
export interface WaitDecision extends DecisionBase {
  readonly wait: {
    readonly reason?: string;
    /** Ask again after this long even if nothing changed. */
    readonly retryAfterMs?: number;
  };
}

/** Hand the item to a supervisor or another team. */
export interface EscalateDecision extends DecisionBase {
  readonly escalate: {
    readonly reason?: string;
    readonly team?: string;
  };
}

/** A router's answer. */
export type Decision = AssignDecision | WaitDecision | EscalateDecision;

/** What a routing plugin's module exports as default. */
export interface RoutingPlugin {
  /** The router's name, e.g. `vip-first`. */
  readonly name: string;
  readonly version?: string;
  /**
   * Decide where `input.item` goes. Called once per routing attempt with a
   * deadline (50 ms by default); it must not keep state between calls, as
   * every call may run in a fresh process.
   */
  route(input: RouteInput): Decision | Promise<Decision>;
}
