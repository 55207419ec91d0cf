// What the queue's command families share: the shape of a decision and the
// tenant's routing settings they are decided under.
import {
  type DecideContext,
  type Decision,
  defaultRoutingSettings,
  type RoutingSettings,
} from "./decider.ts";
import type { QueueCommand, QueueEvent } from "./_queue_types.ts";

/** What a queue command decides. */
export type Outcome = Decision<QueueEvent>;

/** The queue command of type `T`. */
export type CommandOf<T extends QueueCommand["type"]> = Extract<QueueCommand, { type: T }>;

/** The tenant's routing settings, or the defaults when it has none. */
export function settings(ctx: DecideContext): RoutingSettings {
  return ctx.tenant.routing ?? defaultRoutingSettings;
}
