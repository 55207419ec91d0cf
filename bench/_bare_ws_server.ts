// The floor of the connections scenario: `Deno.serve` and
// `Deno.upgradeWebSocket` echoing every frame and keeping nothing, so its
// memory per socket is what the runtime itself needs.
import { type ListeningChild, spawnListening } from "./_child.ts";

/** Start the echo server in its own process. */
export function startBareServer(): Promise<ListeningChild> {
  return spawnListening(import.meta.filename!, []);
}

if (import.meta.main) {
  Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: ({ port }) => console.log(JSON.stringify({ port })),
  }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => socket.send(event.data);
    return response;
  });
}
