// Who owns each ticket, by two witnesses: the claimers the mechanism told
// "you own it", and what the database holds. A ticket has two owners when
// the witnesses name more than one claimer between them.

/** What the database holds of one ticket's ownership. */
export interface StoredOwner {
  owner: string | null;
  /** How many times an owner was written: 1 for a ticket claimed once. */
  writes: number;
}

/** Ownership over a set of tickets. */
export interface OwnershipCheck {
  tickets: number;
  /** Fewest and most claimers told they won, over the tickets. */
  winners: { min: number; max: number };
  /** Tickets more than one claimer owns, by either witness. */
  doubleOwners: number;
  /** Tickets whose stored owner is not exactly the one claimer told it won. */
  disagreements: number;
}

/** Check the claimers told they won (by ticket) against the stored owners. */
export function checkOwnership(
  told: Map<string, string[]>,
  stored: Map<string, StoredOwner>,
): OwnershipCheck {
  const counts = [...told.values()].map((winners) => winners.length);
  let doubleOwners = 0;
  let disagreements = 0;
  for (const [ticket, winners] of told) {
    const { owner, writes } = stored.get(ticket) ?? { owner: null, writes: 0 };
    const owners = new Set(owner === null ? winners : [...winners, owner]);
    if (owners.size > 1 || writes > 1) doubleOwners++;
    if (winners.length !== 1 || writes !== 1 || owner !== winners[0]) disagreements++;
  }
  return {
    tickets: told.size,
    winners: { min: Math.min(...counts), max: Math.max(...counts) },
    doubleOwners,
    disagreements,
  };
}

/** `min–max`, or one number when they agree. */
export function span({ min, max }: { min: number; max: number }): string {
  return min === max ? String(min) : `${min}–${max}`;
}

/** Answers that are neither a win (200) nor a loss (409): each one is a failure. */
export function unexpectedAnswers(statuses: Record<string, number>): number {
  return Object.entries(statuses)
    .filter(([status]) => status !== "200" && status !== "409")
    .reduce((sum, [, n]) => sum + n, 0);
}
