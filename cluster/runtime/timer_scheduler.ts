/**
 * Fires durable timers: polls the store for timers coming due, keeps the
 * ones whose actors this node owns on local timeouts, and delivers each as a
 * timer command when due. The command id names the timer and its due time,
 * so a timer delivered twice (a retry, two owners during a view change) has
 * no second effect.
 *
 * @module
 */
import type { TimerCommand } from "../../actors/decider.ts";
import { parseActorKey } from "../actor_key.ts";
import type { DueTimer, EventStore } from "../store/event_store.ts";
import type { ActorRequest, ActorResponse } from "../protocol.ts";
import { collectWanted } from "./_owned_rows.ts";

/** Options of {@linkcode TimerScheduler}. */
export interface TimerSchedulerOptions {
  store: EventStore;
  /** Routes a timer command to the actor's owner. */
  deliver: (request: ActorRequest) => Promise<ActorResponse>;
  /** Whether this node should fire the actor's timers (it owns the actor). */
  isLocal?: (actorKey: string) => boolean;
  pollMs?: number;
  /** How far ahead of due a timer is loaded onto a local timeout. */
  horizonMs?: number;
  /** Rows read per query while paging past other nodes' timers (1000 by default). */
  pageSize?: number;
  now?: () => number;
  onError?: (message: string, fields: Record<string, unknown>) => void;
}

/** Polls and fires durable timers until its signal aborts. */
export class TimerScheduler {
  #options: TimerSchedulerOptions & {
    pollMs: number;
    horizonMs: number;
    pageSize: number;
    now: () => number;
  };
  #scheduled = new Map<string, ReturnType<typeof setTimeout>>();
  #poller?: ReturnType<typeof setTimeout>;
  #stopped = false;
  #fired = 0;

  constructor(options: TimerSchedulerOptions) {
    this.#options = { pollMs: 1000, horizonMs: 2000, pageSize: 1000, now: Date.now, ...options };
  }

  /** Timers delivered and acknowledged so far. */
  get fired(): number {
    return this.#fired;
  }

  /** Start polling now. */
  start(): void {
    this.#poll();
  }

  /** Stop polling and cancel local timeouts; stored timers stay for the next owner. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#poller);
    for (const handle of this.#scheduled.values()) clearTimeout(handle);
    this.#scheduled.clear();
  }

  async #poll(): Promise<void> {
    if (this.#stopped) return;
    const { store, isLocal, horizonMs, pollMs, pageSize, now } = this.#options;
    try {
      const until = now() + horizonMs;
      const due = await collectWanted<DueTimer>(
        (after) => store.dueTimers(until, pageSize, after),
        (timer) => (!isLocal || isLocal(timer.actorKey)) && !this.#scheduled.has(timerId(timer)),
        { pageSize, limit: pageSize },
      );
      for (const timer of due) this.#schedule(timer);
    } catch (error) {
      this.#options.onError?.("timer poll failed", { error: String(error) });
    }
    if (!this.#stopped) this.#poller = setTimeout(() => this.#poll(), pollMs);
  }

  #schedule(timer: DueTimer): void {
    const id = timerId(timer);
    if (this.#scheduled.has(id)) return;
    const delay = Math.max(0, timer.at - this.#options.now());
    this.#scheduled.set(
      id,
      setTimeout(async () => {
        await this.#fire(timer);
        // Forget it only now, so a poll while it was in flight does not fire it again.
        this.#scheduled.delete(id);
      }, delay),
    );
  }

  async #fire(timer: DueTimer): Promise<void> {
    const command: TimerCommand = { type: "timer", name: timer.name, at: timer.at };
    const response = await this.#options.deliver({
      address: parseActorKey(timer.actorKey),
      op: "command",
      command,
      commandId: `s:timer:${timer.name}:${timer.at}`,
      deadline: this.#options.now() + 10_000,
    }).catch((error) => ({
      ok: false as const,
      error: { retryable: true, message: String(error) },
    }));
    if (!response.ok && response.error.retryable) {
      // Left in the store: the next poll after this one delivers it again.
      this.#options.onError?.("timer delivery failed", { ...timer, error: response.error.message });
      return;
    }
    this.#fired++;
    // The turn normally replaced or removed the timer already; this drops a row
    // the actor no longer wants at exactly this due time, so it never refires.
    await this.#options.store.deleteTimer(timer).catch(() => {});
  }
}

function timerId(timer: DueTimer): string {
  return `${timer.actorKey}|${timer.name}|${timer.at}`;
}
