// What another process costs, read from Linux's /proc: resident memory, and
// CPU time sampled over a run so any window of it can be priced afterwards.
import { quantile } from "./_stats.ts";

// USER_HZ: the unit of utime and stime in /proc/<pid>/stat on every Linux build.
const ticksPerSecond = 100;

/** A process's resident set (VmRSS) in bytes; 0 once it is gone. */
export async function rssBytes(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const kib = status.match(/^VmRSS:\s+(\d+) kB$/m);
    return kib ? Number(kib[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The median of `count` VmRSS samples of `pid` taken `everyMs` apart. */
export async function medianRss(pid: number, count: number, everyMs: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, everyMs));
    samples.push(await rssBytes(pid));
  }
  return quantile(samples.sort((a, b) => a - b), 0.5);
}

/** The open-file limit a running process got, from /proc/<pid>/limits. */
export async function openFileLimit(pid: number): Promise<number> {
  const limits = await Deno.readTextFile(`/proc/${pid}/limits`);
  const soft = limits.match(/^Max open files\s+(\d+)/m);
  return soft ? Number(soft[1]) : Infinity;
}

/** Ids of the running processes whose command name (`comm`) is `name`, e.g. `postgres`. */
export async function pidsNamed(name: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const comm = await Deno.readTextFile(`/proc/${entry.name}/comm`);
      if (comm.trim() === name) pids.push(Number(entry.name));
    } catch {
      // exited while listed
    }
  }
  return pids;
}

/**
 * Processes to price, by group; a function is asked again at every sample;
 * `mainThreads` prices only the main thread of each process (its JS thread,
 * in Deno), the rest of its threads left out.
 */
export type ProcessGroups = Record<
  string,
  number[] | (() => Promise<number[]>) | { mainThreads: number[] }
>;

/** CPU seconds each process of each group had used, and the machine's busy seconds, at a moment. */
interface CpuSample {
  at: number;
  seconds: Record<string, Map<number, number>>;
  machine: number;
}

/** The group {@linkcode CpuSampler.coresBetween} adds: every other process on the machine. */
export const otherGroup = "other processes";

/** A running sampler; {@linkcode CpuSampler.stop} ends it. */
export interface CpuSampler {
  /**
   * Cores each group kept busy on average between two epoch-ms moments, and
   * under {@linkcode otherGroup} what the rest of the machine used.
   */
  coresBetween(from: number, to: number): Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Sample the CPU time of each group's processes every `everyMs`. A process
 * that starts within a window counts from zero; one that exits takes its
 * last stretch with it, so groups should be long-lived.
 */
export function sampleCpu(groups: ProcessGroups, everyMs = 500): CpuSampler {
  const samples: CpuSample[] = [];
  let running = true;
  const take = async () => {
    const seconds: CpuSample["seconds"] = {};
    for (const [group, pids] of Object.entries(groups)) {
      const threads = "mainThreads" in pids;
      const list = threads ? pids.mainThreads : typeof pids === "function" ? await pids() : pids;
      seconds[group] = new Map();
      for (const pid of list) {
        const path = threads ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
        seconds[group].set(pid, await cpuTicks(path) / ticksPerSecond);
      }
    }
    samples.push({ at: Date.now(), seconds, machine: await machineBusySeconds() });
  };
  const loop = (async () => {
    while (running) {
      await take();
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
    await take();
  })();
  return {
    coresBetween(from, to) {
      const first = samples.findLast((s) => s.at <= from) ?? samples[0];
      const last = samples.find((s) => s.at >= to) ?? samples.at(-1)!;
      const elapsed = (last.at - first.at) / 1000;
      if (elapsed <= 0) return {};
      const cores = (group: string) => {
        let used = 0;
        for (const [pid, now] of last.seconds[group]) {
          used += now - (first.seconds[group].get(pid) ?? 0);
        }
        return used / elapsed;
      };
      const ours = Object.fromEntries(Object.keys(groups).map((group) => [group, cores(group)]));
      const sum = Object.values(ours).reduce((total, n) => total + n, 0);
      const machine = (last.machine - first.machine) / elapsed;
      return { ...ours, [otherGroup]: Math.max(0, machine - sum) };
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

/**
 * The Postgres backends serving connections that `pids` opened: a backend's
 * title names its client's port, and the clients' sockets name their ports
 * in /proc/net/tcp. Other users of the same server are left out.
 */
export async function postgresBackendsOf(pids: number[], port = 5432): Promise<number[]> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    try {
      for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
        const link = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "");
        const socket = link.match(/^socket:\[(\d+)\]$/);
        if (socket) inodes.add(socket[1]);
      }
    } catch {
      // exited
    }
  }
  const clientPorts = new Set<number>();
  const table = await Deno.readTextFile("/proc/net/tcp");
  for (const line of table.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || !inodes.has(fields[9])) continue;
    const hexPort = (address: string) => parseInt(address.split(":")[1], 16);
    if (hexPort(fields[2]) === port) clientPorts.add(hexPort(fields[1]));
  }
  const backends: number[] = [];
  for (const pid of await pidsNamed("postgres")) {
    const title = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
    const client = title.match(/\((\d+)\)/);
    if (client && clientPorts.has(Number(client[1]))) backends.push(pid);
  }
  return backends;
}

/** CPU seconds (user and system) process `pid` has used so far; 0 once it is gone. */
export async function cpuSeconds(pid: number): Promise<number> {
  return await cpuTicks(`/proc/${pid}/stat`) / ticksPerSecond;
}

// utime + stime; the command name may hold spaces, so fields count from its ")".
async function cpuTicks(statPath: string): Promise<number> {
  try {
    const stat = await Deno.readTextFile(statPath);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

// Busy time of all cores, from the first line of /proc/stat: every field but idle and iowait.
async function machineBusySeconds(): Promise<number> {
  const stat = await Deno.readTextFile("/proc/stat");
  const fields = stat.slice(0, stat.indexOf("\n")).trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + steal) / ticksPerSecond;
}
