// V8 CPU profiles of another Deno process over its inspector (`--inspect`),
// so a window of a run can be profiled on any checkout without changing
// the code being measured.

/** A V8 CPU profile, as `Profiler.stop` returns it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds, on the profiled process's monotonic clock. */
  startTime: number;
  endTime: number;
  /** The node id of each sample's leaf frame. */
  samples: number[];
  /** Microseconds since the previous sample (the first: since `startTime`). */
  timeDeltas: number[];
}

/** One frame of the profile's call tree. */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A V8 sampling heap profile, as `HeapProfiler.getSamplingProfile` returns it. */
export interface HeapProfile {
  head: HeapNode;
}

/** One frame of a heap profile's call tree: bytes allocated by the frame itself. */
export interface HeapNode {
  callFrame: ProfileNode["callFrame"];
  /** Estimated bytes allocated in the frame itself (V8 scales its samples up). */
  selfSize: number;
  children: HeapNode[];
}

/** The inspector's WebSocket address in a process's stderr line, if the line is that one. */
export function inspectorAddress(line: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
}

/** A connected inspector session; `await using` closes it. */
export class InspectorSession implements AsyncDisposable {
  #socket: WebSocket;
  #next = 0;
  #waiting = new Map<number, PromiseWithResolvers<unknown>>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      const waiting = this.#waiting.get(message.id);
      if (!waiting) return;
      this.#waiting.delete(message.id);
      if (message.error) waiting.reject(new Error(`inspector: ${message.error.message}`));
      else waiting.resolve(message.result);
    };
    socket.onclose = () => {
      for (const waiting of this.#waiting.values()) waiting.reject(new Error("inspector closed"));
      this.#waiting.clear();
    };
  }

  /** Connect to the inspector at `address` (a `ws://` URL). */
  static connect(address: string): Promise<InspectorSession> {
    const socket = new WebSocket(address);
    return new Promise((resolve, reject) => {
      socket.onopen = () => resolve(new InspectorSession(socket));
      socket.onerror = () => reject(new Error(`no inspector at ${address}`));
    });
  }

  /** Start sampling every `intervalUs` microseconds. */
  async startProfiling(intervalUs: number): Promise<void> {
    await this.#call("Profiler.enable");
    await this.#call("Profiler.setSamplingInterval", { interval: intervalUs });
    await this.#call("Profiler.start");
  }

  /** Stop sampling and return what was sampled since the start. */
  async stopProfiling(): Promise<CpuProfile> {
    const { profile } = await this.#call("Profiler.stop") as { profile: CpuProfile };
    return profile;
  }

  /**
   * Start sampling allocations about every `intervalBytes`, counting the
   * objects the garbage collector has freed since: what was allocated, not
   * what is still alive.
   */
  async startHeapSampling(intervalBytes: number): Promise<void> {
    await this.#call("HeapProfiler.enable");
    await this.#call("HeapProfiler.startSampling", {
      samplingInterval: intervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }

  /** What was sampled since the start, sampling on: running totals per frame. */
  async heapSamples(): Promise<HeapProfile> {
    const { profile } = await this.#call("HeapProfiler.getSamplingProfile") as {
      profile: HeapProfile;
    };
    return profile;
  }

  /** Stop sampling allocations and return what was sampled since the start. */
  async stopHeapSampling(): Promise<HeapProfile> {
    const profile = await this.heapSamples();
    await this.#call("HeapProfiler.stopSampling");
    return profile;
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#next;
    const waiting = Promise.withResolvers<unknown>();
    this.#waiting.set(id, waiting);
    this.#socket.send(JSON.stringify({ id, method, params }));
    return waiting.promise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    if (this.#socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((resolve) =>
      this.#socket.addEventListener("close", () => resolve())
    );
    this.#socket.close();
    return closed;
  }
}
