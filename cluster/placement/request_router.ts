/**
 * Routes actor requests to their owner under this process's membership view,
 * and keeps retrying — after a redirect, a stale owner, a draining or lost
 * node — until the request's deadline. Fencing in the event store settles
 * any disagreement between views, so retries are always safe: every command
 * carries its idempotency key.
 *
 * @module
 */
import { actorKey } from "../actor_key.ts";
import type { Membership, MembershipView } from "./membership.ts";
import {
  type ActorRequest,
  type ActorResponse,
  failed,
  RuntimeErrors,
  toWire,
} from "../protocol.ts";
import { Ring } from "./ring.ts";
import { subjects } from "../transport/subjects.ts";
import { type Transport, TransportUnavailableError } from "../transport/transport.ts";

/** Options of {@linkcode ClusterRouter}. */
export interface ClusterRouterOptions {
  transport: Transport;
  membership: Membership;
  cluster: string;
  /** This node, when the router runs inside one: requests it owns run locally. */
  local?: { id: string; dispatch: (request: ActorRequest) => Promise<ActorResponse> };
  /** Upper bound of one attempt; a node that died mid-request is abandoned after it. */
  attemptTimeoutMs?: number;
  /** Called for every redirect-like retry (metrics). */
  onRetry?: (code: string) => void;
  /** This process's clock, which request deadlines are read on. */
  now?: () => number;
}

// Answers after which another attempt, after a fresh look at the view, may
// reach the right owner.
const rerouteCodes = new Set<string>([
  RuntimeErrors.redirect,
  RuntimeErrors.staleOwner,
  RuntimeErrors.draining,
  "node_lost",
]);

/** Sends each request to the owner of its actor, with retries until the deadline. */
export class ClusterRouter {
  #options: ClusterRouterOptions & { attemptTimeoutMs: number; now: () => number };
  #subjects: ReturnType<typeof subjects>;
  #ring: Ring;
  #view: MembershipView;
  // Attempts in flight by node, aborted when their node leaves the view, so
  // requests to a dead node are retried at once instead of waiting out their
  // timeout. A controller per attempt, not one per node: a listener per
  // request on one long-lived signal costs a scan of all the others on
  // every add and remove.
  #inFlight = new Map<string, Set<AbortController>>();

  constructor(options: ClusterRouterOptions) {
    this.#options = { attemptTimeoutMs: 2000, now: Date.now, ...options };
    this.#subjects = subjects(options.cluster);
    this.#view = options.membership.view;
    this.#ring = new Ring(this.#view.nodes);
    options.membership.onChange((view) => this.#update(view));
  }

  /** The ring of the current view. */
  get ring(): Ring {
    return this.#ring;
  }

  /** The node that owns `key` under the current view, or null with no nodes. */
  ownerOf(key: string): string | null {
    return this.#ring.nodes.length === 0 ? null : this.#ring.owner(key);
  }

  /** Route `request` to its owner and answer once it does, or the deadline passes. */
  async request(request: ActorRequest): Promise<ActorResponse> {
    const key = actorKey(request.address);
    let pause = 20;
    const { now } = this.#options;
    let last: ActorResponse = failed(RuntimeErrors.unavailable, "no node is available", true);
    while (now() < request.deadline) {
      const owner = this.ownerOf(key);
      if (owner !== null) {
        last = await this.#attempt(owner, request);
        if (last.ok || !rerouteCodes.has(last.error.code)) return last;
        this.#options.onRetry?.(last.error.code);
      }
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(pause, request.deadline - now()))
      );
      pause = Math.min(pause * 2, 200);
    }
    return last.ok ? last : failed(
      RuntimeErrors.unavailable,
      `no owner answered before the deadline (last: ${last.error.code})`,
      true,
    );
  }

  async #attempt(owner: string, request: ActorRequest): Promise<ActorResponse> {
    const { local, transport, attemptTimeoutMs, now } = this.#options;
    if (local && owner === local.id) return await local.dispatch(request);
    const sent = toWire(request, now());
    const attempt = new AbortController();
    let attempts = this.#inFlight.get(owner);
    if (!attempts) this.#inFlight.set(owner, attempts = new Set());
    attempts.add(attempt);
    try {
      return await transport.request(this.#subjects.node(owner), sent, {
        timeoutMs: Math.max(1, Math.min(attemptTimeoutMs, sent.budgetMs)),
        signal: attempt.signal,
      }) as ActorResponse;
    } catch (error) {
      // NATS itself is down: fail fast, the client retries later.
      if (error instanceof TransportUnavailableError) {
        return failed(RuntimeErrors.unavailable, "the cluster bus is unavailable", true);
      }
      // No responders, a timeout or an abort all mean the owner is gone or
      // going; the view will catch up, so try again.
      return failed("node_lost", `node ${owner} did not answer: ${(error as Error).message}`, true);
    } finally {
      attempts.delete(attempt);
    }
  }

  #update(view: MembershipView): void {
    this.#view = view;
    this.#ring = new Ring(view.nodes);
    for (const [node, attempts] of this.#inFlight) {
      if (view.nodes.includes(node)) continue;
      const left = new Error(`node ${node} left the view`);
      for (const attempt of attempts) attempt.abort(left);
      this.#inFlight.delete(node);
    }
  }
}
