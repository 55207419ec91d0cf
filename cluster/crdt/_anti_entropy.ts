// Digest-based anti-entropy for a Replicator: announce a digest per tenant,
// and pull the state of every tenant whose digest differs from a peer's. A
// type that can split its state in buckets of keys (an LwwMap) sends its
// bucket digests with the pull and gets back only the buckets that differ:
// under steady writes two replicas almost always differ by the deltas in
// flight, and a pull then moves a few keys instead of the whole map.
import type { Logger } from "../telemetry/log.ts";
import type { Subscription, Transport } from "../transport/transport.ts";
import {
  type DigestMessage,
  digestMessage,
  parse,
  type StateReply,
  stateReply,
  stateRequest,
} from "./_replication_messages.ts";
import type { CrdtSubjects } from "./_subjects.ts";

/** What anti-entropy needs of the replicator it runs for. */
export interface AntiEntropyHost {
  /** The digest of every tenant held. */
  digests(): [string, number][];
  /** True when `tenant` is replicated here and its state's digest is not `digest`. */
  differs(tenant: string, digest: number): boolean;
  /** The bucket digests of those of `tenants` held whose type has buckets. */
  bucketDigests(tenants: string[]): [string, number[]][];
  /**
   * The encoded states of those of `tenants` held: of a tenant with the
   * asker's bucket digests in `buckets`, only the buckets that differ.
   */
  encodedStates(tenants: string[], buckets: Map<string, number[]>): [string, Uint8Array][];
  /** Merge a pulled full state; false when it does not decode. */
  mergePulled(tenant: string, bytes: Uint8Array): boolean;
  /** Count and log a refused inbound message. */
  reject(what: string): void;
  /** Count `n` tenants found to differ. */
  mismatched(n: number): void;
}

/** Options of {@linkcode AntiEntropy}. */
export interface AntiEntropyOptions {
  transport: Transport;
  subjects: CrdtSubjects;
  replica: string;
  intervalMs: number;
  pullTimeoutMs: number;
  logger: Logger;
  host: AntiEntropyHost;
}

/** Runs anti-entropy rounds for one replica. */
export class AntiEntropy {
  readonly #options: AntiEntropyOptions;
  readonly #subscriptions: Subscription[] = [];
  #timer?: ReturnType<typeof setInterval>;

  constructor(options: AntiEntropyOptions) {
    this.#options = options;
  }

  /** Serve full states, listen to digests, announce every interval, and solicit now. */
  start(): void {
    const { transport, subjects, replica, host, intervalMs } = this.#options;
    this.#subscriptions.push(
      transport.serve(subjects.state(replica), (payload) => {
        const request = parse(stateRequest, payload);
        if (!request) return Promise.reject(new Error("not a state request"));
        const buckets = new Map(request.buckets);
        return Promise.resolve({ states: host.encodedStates(request.tenants, buckets) });
      }),
      transport.subscribe(subjects.digests, (payload) => this.#onDigests(payload)),
    );
    this.#timer = setInterval(() => this.announce(false), intervalMs);
    this.announce(true);
  }

  /** Publish this replica's digests; `solicit` asks every peer to answer with theirs. */
  announce(solicit: boolean): void {
    const { transport, subjects, replica, host } = this.#options;
    const message: DigestMessage = { from: replica, digests: host.digests(), solicit };
    transport.publish(subjects.digests, message);
  }

  /** Stop serving, listening and announcing. */
  close(): void {
    clearInterval(this.#timer);
    for (const subscription of this.#subscriptions) subscription.close();
    this.#subscriptions.length = 0;
  }

  #onDigests(payload: unknown): void {
    const { replica, host } = this.#options;
    const message = parse(digestMessage, payload);
    if (!message) return host.reject("a digest message");
    if (message.from === replica) return;
    if (message.solicit) this.announce(false);
    const differing = message.digests
      .filter(([tenant, digest]) => host.differs(tenant, digest))
      .map(([tenant]) => tenant);
    if (differing.length === 0) return;
    host.mismatched(differing.length);
    this.#pull(message.from, differing);
  }

  async #pull(peer: string, tenants: string[]): Promise<void> {
    const { transport, subjects, pullTimeoutMs, logger, host } = this.#options;
    let reply: StateReply | undefined;
    try {
      const buckets = host.bucketDigests(tenants);
      const payload = await transport.request(subjects.state(peer), { tenants, buckets }, {
        timeoutMs: pullTimeoutMs,
      });
      reply = parse(stateReply, payload);
    } catch (error) {
      // The next round retries; the peer may have gone.
      logger.warn("could not pull states", { peer, error: `${error}` });
      return;
    }
    if (!reply) return host.reject("a state reply");
    for (const [tenant, bytes] of reply.states) {
      if (!tenants.includes(tenant) || !host.mergePulled(tenant, bytes)) {
        return host.reject("a state reply");
      }
    }
  }
}
