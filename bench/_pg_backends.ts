// Which Postgres server processes work for whom, so a benchmark on a shared
// server prices only its own: a client backend is matched to the local
// process that holds the other end of its connection, by TCP port.
import type postgres from "postgres";

/** Pids of the client backends serving connections that `clients` (local pids) opened. */
export async function backendsOf(sql: postgres.Sql, clients: number[]): Promise<number[]> {
  const ports = [...await localPorts(clients)];
  const rows = await sql<{ pid: number }[]>`
    select pid from pg_stat_activity
    where backend_type = 'client backend' and client_port = any(${ports})`;
  return rows.map((row) => row.pid);
}

/** Pids of the server's own processes: WAL writer, checkpointer, autovacuum and the like. */
export async function serverProcesses(sql: postgres.Sql): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`
    select pid from pg_stat_activity where backend_type <> 'client backend'`;
  return rows.map((row) => row.pid);
}

// Local ports of the TCP sockets the processes hold: socket inodes from their
// fds, looked up in the kernel's socket tables.
async function localPorts(pids: number[]): Promise<Set<number>> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    try {
      for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
        const target = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "");
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode) inodes.add(inode);
      }
    } catch {
      // exited while listed
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const lines = (await Deno.readTextFile(table)).trim().split("\n").slice(1);
    for (const line of lines) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      const fields = line.trim().split(/\s+/);
      if (inodes.has(fields[9])) ports.add(parseInt(fields[1].split(":")[1], 16));
    }
  }
  return ports;
}
