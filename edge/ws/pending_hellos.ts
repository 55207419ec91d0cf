/**
 * A cap on the sockets of one client address that have not said `hello`
 * yet: each costs the edge a socket and a timer slot for up to the hello
 * deadline, so one address cannot hold thousands of them. Sockets leave the
 * count when they authenticate or close; the edge sweeps the counts with its
 * tick, so an address's entry lasts no longer than its sockets.
 *
 * @module
 */

/** What the cap needs to know of a socket. */
export interface PendingSocket {
  /** Not authenticated yet, and still open. */
  readonly pending: boolean;
}

/** Counts unauthenticated sockets per client address. */
export class PendingHellos {
  #limit: number;
  #byAddress = new Map<string, PendingSocket[]>();

  /** At most `limit` pending sockets per address. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Whether another pending socket from `address` may open. */
  admits(address: string): boolean {
    return this.#prune(address) < this.#limit;
  }

  /** Count a new pending socket of `address`. */
  add(address: string, socket: PendingSocket): void {
    const sockets = this.#byAddress.get(address);
    if (sockets) sockets.push(socket);
    else this.#byAddress.set(address, [socket]);
  }

  /** Forget the sockets that authenticated or closed. */
  sweep(): void {
    for (const address of this.#byAddress.keys()) this.#prune(address);
  }

  /** Addresses with pending sockets. */
  get size(): number {
    return this.#byAddress.size;
  }

  #prune(address: string): number {
    const sockets = this.#byAddress.get(address)?.filter((socket) => socket.pending) ?? [];
    if (sockets.length === 0) this.#byAddress.delete(address);
    else this.#byAddress.set(address, sockets);
    return sockets.length;
  }
}
