/**
 * The queue actor: a pure decider, one per tenant (or team), and the single
 * writer of who holds which chat or ticket. Routers run outside the turn;
 * their decisions come back as commands that this decider validates.
 *
 * @module
 */
import type { Decider } from "./decider.ts";
import type { QueueCommand, QueueEvent, QueueState } from "./_queue_types.ts";
import { decide, wantedTimers } from "./_queue_decide.ts";
import { evolve } from "./_queue_evolve.ts";
import { queueEffects } from "./_queue_effects.ts";
import { queueSummary } from "./_queue_view.ts";
import { noItems, shardItems } from "./_queue_items.ts";

export {
  type AgentState,
  type AgentStatus,
  type Explanation,
  type ItemInput,
  type ItemKind,
  type ItemRef,
  type ItemShards,
  type LeaveReason,
  leaveReasons,
  type Offer,
  type PerKind,
  type QueueBacklog,
  type QueueCommand,
  type QueueEvent,
  type QueueItem,
  queueLimits,
  type QueuePosition,
  type QueueState,
  type RoutableWork,
  type RouteOutcome,
  type RoutingInput,
} from "./_queue_types.ts";
export {
  heldBy,
  itemKey,
  kindPositions,
  queuePositions,
  routable,
  routableWork,
  routingInput,
  waitingCount,
} from "./_queue_work.ts";
export { type RouteCommand, tenantQueueId } from "./_queue_effects.ts";
export { backlogRoom } from "./_queue_backlog.ts";
export { allItems, itemAt } from "./_queue_items.ts";
export { type QueueSummary, queueSummary, type QueueView, queueView } from "./_queue_view.ts";

/**
 * The queue decider.
 *
 * - `arrive` queues an item (a second arrival of a known item changes
 *   nothing); past the tenant's `maxWaiting` a chat is refused with
 *   `queue_full`, while a ticket is `backlogged`: it stays open and
 *   unassigned in the store, and the runtime sends it again once the queue
 *   has room (see {@linkcode QueueBacklog}); `backlog_drained` clears the
 *   flag only for the latest generation of overflows.
 *   A chat of a visitor the queue remembers (whoever last held one of their
 *   chats) arrives with that agent as its previous agent, unless it names one.
 * - An assignment made possible by relaxation says so in its rule.
 * - `leave` records a fact from the item's own actor: an agent took it by
 *   hand (beyond capacity if need be: that shows as excess), or it closed.
 *   `requeue` puts a held item back to waiting, as a new wait (an
 *   unassigned ticket, or one transferred to a team).
 * - `availability` and `agent_gone` keep each agent's profile; only
 *   `online` agents are routed to; a gone (or offline) agent's offers are
 *   withdrawn at once and what it holds returns to the queue after the
 *   tenant's `releaseAfterSeconds`, unless it comes back first.
 * - `route_decision` assigns (or, with `offerSeconds`, offers) only if the
 *   item still waits with no offer out and the agent is online, has room for
 *   that kind, fits the item's requirements and did not pass on it before;
 *   otherwise it is refused with `route_refused` (`details.reason`), so the
 *   runtime asks again. A decision for an item no longer waiting is stale
 *   and changes nothing, as does `wait`.
 * - An offer is accepted or declined by its agent; a lapsed offer marks the
 *   agent away. Either way the item may go to the next agent, not this one.
 * - Relaxation timers fire at each step of an item's wait, so it is routed
 *   again with fewer requirements.
 * - Each `assigned` sends the item's own actor a `route` command (see
 *   {@linkcode RouteCommand}), which it takes unless a hand claim came first.
 * - A command answers with a {@linkcode QueueSummary}, not the whole queue.
 */
export const queueDecider: Decider<QueueState, QueueCommand, QueueEvent> = {
  kind: "queue",
  initial: (address) => ({
    tenant: address.tenant,
    id: address.id,
    items: noItems(),
    agents: {},
    offers: {},
    recentAssignments: { chat: [], ticket: [] },
    lastAgents: {},
    updatedAt: 0,
  }),
  decide,
  evolve,
  revive: (state) => ({ ...state, items: shardItems(state.items) }),
  timers: (state) => wantedTimers(state).map(({ name, at }) => ({ name, at })),
  view: queueSummary,
  // An assignment goes to the chat's session or the ticket, which takes it like a claim.
  effects: queueEffects,
};
