// A private nats-server on a free loopback port, for tests that stop and
// restart NATS without touching the shared one.
import { accepting, freePort } from "./ports.ts";

/** A NATS server of the test's own, on a free port, that it may kill and restart. */
export class NatsServer {
  readonly url: string;
  readonly #port: number;
  #process?: Deno.ChildProcess;

  private constructor(port: number) {
    this.#port = port;
    this.url = `nats://127.0.0.1:${port}`;
  }

  static async start(): Promise<NatsServer> {
    const server = new NatsServer(freePort());
    await server.restart();
    return server;
  }

  async restart(): Promise<void> {
    const binary = Deno.env.get("SB_TEST_NATS_SERVER") ?? "nats-server";
    this.#process = new Deno.Command(binary, {
      args: ["-a", "127.0.0.1", "-p", String(this.#port)],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await accepting(this.#port);
  }

  async stop(): Promise<void> {
    const process = this.#process;
    this.#process = undefined;
    if (!process) return;
    process.kill("SIGKILL");
    await process.status;
  }
}
