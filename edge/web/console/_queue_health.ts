/**
 * The supervisors' view of the queue, computed from what the console
 * knows: how many wait, the longest wait, and the chats whose wait puts
 * them at risk of missing the tenant's wait limit.
 *
 * @module
 */

/** The default of the tenant's `chat.waitLimitMinutes` (README "Configuration"). */
const defaultWaitLimitMinutes = 5;

/**
 * How long a chat may wait before it is at risk: half the tenant's chat
 * wait limit (`chat.waitLimitMinutes`, after which a waiting chat becomes a
 * ticket), so a supervisor still has the other half to act.
 */
export function atRiskAfterMs(settings?: { chat?: { waitLimitMinutes?: number } }): number {
  return (settings?.chat?.waitLimitMinutes ?? defaultWaitLimitMinutes) * 60_000 / 2;
}

/** One waiting chat: its id and when it started to wait (epoch ms). */
export interface WaitingChat {
  id: string;
  since: number;
}

/** The queue's figures at one moment. */
export interface QueueHealth {
  /** The longest wait among the chats known (ms), null when none. */
  longestMs: number | null;
  /** The chats that waited `atRiskMs` or longer, longest first. */
  atRisk: WaitingChat[];
}

/** The queue's figures at `now` for the waiting chats known. */
export function queueHealth(waiting: WaitingChat[], now: number, atRiskMs: number): QueueHealth {
  const longestFirst = [...waiting].sort((a, b) => a.since - b.since);
  return {
    longestMs: longestFirst.length ? Math.max(0, now - longestFirst[0].since) : null,
    atRisk: longestFirst.filter((chat) => now - chat.since >= atRiskMs),
  };
}
