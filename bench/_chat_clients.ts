// What the chat load generator needs of a chat system's clients, so one
// open-loop generator drives Switchboard and the Socket.IO baseline alike.

/** What the clients report back to the generator. */
export interface ChatHandlers {
  /** Message `id` was acknowledged to its visitor: the system says it is stored. */
  acked(id: number): void;
  /** Message `id` was refused with `code`. */
  refused(id: number, code: string): void;
  /** A visitor's message with `body` reached the conversation's agent. */
  delivered(body: string): void;
}

/** Connected visitors and agents, every conversation claimed by its agent. */
export interface ChatClients {
  /** Open sockets, visitors and agents. */
  sockets: number;
  /** The visitor of conversation `conversation` (an index) sends message `id`. */
  send(conversation: number, id: number, body: string): void;
  close(): Promise<void>;
}

/** Sockets of a conversation's two sides: the agent's, and the other one for its visitor. */
export function placement(
  conversation: number,
  agents: number,
  servers: number,
): { agent: number; agentServer: number; visitorServer: number } {
  const agent = conversation % agents;
  return { agent, agentServer: agent % servers, visitorServer: (agent + 1) % servers };
}
