// The children of one plugin version: each takes one call at a time; a call
// waits for a free one; a dead one is replaced.
import { ChildFailure, type ChildOptions, SandboxChild } from "./_child.ts";

/** How many children a version keeps, and how they are started and watched. */
export interface PoolOptions extends ChildOptions {
  size: number;
  /** How often idle children are pinged; one that misses `pingDeadlineMs` is replaced. */
  idleCheckMs: number;
  pingDeadlineMs: number;
}

interface Waiter {
  resolve(child: SandboxChild): void;
  reject(error: unknown): void;
}

/** A pool of {@linkcode SandboxChild}ren of one source. */
export class ChildPool {
  #source: string;
  #options: PoolOptions;
  #idle: SandboxChild[] = [];
  #all = new Set<SandboxChild>();
  #starting = 0;
  /** Every start and exit not yet settled, so that close can wait for all of them. */
  #unsettled = new Set<Promise<unknown>>();
  #waiters: Waiter[] = [];
  /** Who waits in {@linkcode whenWarm} for the next start to settle. */
  #startWatchers: ((started: boolean) => void)[] = [];
  #warm = false;
  #retired = false;
  #closed = false;
  #idleCheck: ReturnType<typeof setInterval>;

  constructor(source: string, options: PoolOptions) {
    this.#source = source;
    this.#options = options;
    this.#idleCheck = setInterval(() => this.#checkIdle(), options.idleCheckMs);
    // Pinging alone is no reason to keep a process running.
    Deno.unrefTimer(Number(this.#idleCheck));
  }

  /** Children started and running (busy or idle). */
  get running(): number {
    return this.#all.size;
  }

  /** Children running or starting. */
  get size(): number {
    return this.#all.size + this.#starting;
  }

  /**
   * A free child, started if fewer than `size` run; rejects with a
   * `timeout` {@linkcode ChildFailure} if `signal` aborts first, or with the
   * start's failure.
   */
  acquire(signal: AbortSignal): Promise<SandboxChild> {
    if (this.#closed) return Promise.reject(new ChildFailure("crashed", "the pool is closed"));
    const idle = this.#idle.pop();
    if (idle) return Promise.resolve(idle);
    const { promise, resolve, reject } = Promise.withResolvers<SandboxChild>();
    const waiter = { resolve, reject };
    this.#waiters.push(waiter);
    const onAbort = () => {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      reject(new ChildFailure("timeout", "no free child before the deadline"));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    this.#refill();
    return promise.finally(() => signal.removeEventListener("abort", onAbort));
  }

  /** Give back a child after a call; a dead one is dropped and replaced. */
  release(child: SandboxChild): void {
    if (!child.alive || this.#closed || this.#retired) {
      this.#drop(child);
      return;
    }
    this.#offer(child);
  }

  /**
   * Keep `size` children running from now on (the active or shadow
   * version), so that calls find one started.
   */
  warm(): void {
    if (this.#closed) return;
    this.#warm = true;
    this.#retired = false;
    this.#refill();
  }

  /**
   * Resolves once a warm pool runs `size` children, or when a start fails
   * (the failure is a call's to see), or at once if not warm.
   */
  async whenWarm(): Promise<void> {
    while (this.#warm && !this.#closed && this.#all.size < this.#options.size) {
      const { promise, resolve } = Promise.withResolvers<boolean>();
      this.#startWatchers.push(resolve);
      if (!await promise) return;
    }
  }

  /**
   * Stop idle children now and busy ones when their call ends; a later
   * call still gets a child (a call in flight when its version was replaced).
   */
  retire(): void {
    this.#warm = false;
    this.#retired = true;
    for (const child of this.#idle.splice(0)) this.#drop(child);
  }

  /** Kill every child and wait until they have exited. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#idleCheck);
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new ChildFailure("crashed", "the pool is closed"));
    }
    for (const child of this.#all) child.kill();
    while (this.#unsettled.size > 0) await Promise.all(this.#unsettled);
  }

  // A plugin may leave work running in a timer after it answered, a loop
  // that would burn a core until the next call; an idle child that does
  // not answer a ping is replaced before a call finds it so.
  #checkIdle(): void {
    for (const child of this.#idle.splice(0)) {
      this.#track(
        child.ping(AbortSignal.timeout(this.#options.pingDeadlineMs)).then(
          () => this.release(child),
          () => this.release(child),
        ),
      );
    }
  }

  #start(): void {
    this.#starting++;
    const start = SandboxChild.start(this.#source, this.#options).then(
      (child) => {
        this.#starting--;
        this.#all.add(child);
        this.#track(child.closed);
        if (this.#closed) child.kill();
        else this.#offer(child);
        this.#startSettled(true);
      },
      (failure) => {
        this.#starting--;
        this.#waiters.shift()?.reject(failure);
        this.#startSettled(false);
        this.#refill();
      },
    );
    this.#track(start);
  }

  #startSettled(started: boolean): void {
    for (const watcher of this.#startWatchers.splice(0)) watcher(started);
  }

  #track(promise: Promise<unknown>): void {
    this.#unsettled.add(promise);
    const settle = () => this.#unsettled.delete(promise);
    promise.then(settle, settle);
  }

  #offer(child: SandboxChild): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(child);
    else if (this.#retired) this.#drop(child);
    else this.#idle.push(child);
  }

  #drop(child: SandboxChild): void {
    child.kill();
    this.#all.delete(child);
    const idle = this.#idle.indexOf(child);
    if (idle >= 0) this.#idle.splice(idle, 1);
    this.#refill();
  }

  // Start children up to `size` when warm; else as many as calls wait for
  // (a version being probed, or one replaced while calls were in flight).
  #refill(): void {
    if (this.#closed) return;
    const wanted = this.#warm
      ? this.#options.size
      : Math.min(this.#options.size, this.#all.size + this.#waiters.length);
    while (this.size < wanted) this.#start();
  }
}
