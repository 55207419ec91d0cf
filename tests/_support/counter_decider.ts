// A minimal decider for testing the runtime's mechanics, independent of any
// business actor: it counts, can be told to refuse (always, or while it has
// counted too little), and wants one timer.
import type { Decider } from "../../actors/decider.ts";

export interface CounterState {
  n: number;
  fired: string[];
}

export type CounterCommand =
  | { type: "add"; by?: number }
  | { type: "refuse" }
  | { type: "need"; min: number }
  | { type: "alarm"; at: number | null }
  | { type: "poke"; target: string };

export type CounterEvent =
  | { type: "added"; by: number }
  | { type: "alarm_set"; at: number | null }
  | { type: "alarm_fired"; at: number }
  | { type: "poked"; target: string };

export const counterDecider: Decider<
  CounterState & { alarm: number | null },
  CounterCommand,
  CounterEvent
> = {
  kind: "counter",
  initial: () => ({ n: 0, fired: [], alarm: null }),
  decide(state, command) {
    switch (command.type) {
      case "add":
        return { events: [{ type: "added", by: command.by ?? 1 }] };
      case "refuse":
        return { reject: { code: "refused", message: "refused", details: { n: state.n } } };
      case "need":
        if (!Number.isInteger(command.min)) {
          return {
            reject: { code: "validation", message: "min must be a whole number", field: "min" },
          };
        }
        return state.n >= command.min
          ? { events: [{ type: "added", by: 1 }] }
          : { reject: { code: "too_few", message: `fewer than ${command.min}` } };
      case "alarm":
        return { events: [{ type: "alarm_set", at: command.at }] };
      case "poke":
        return { events: [{ type: "poked", target: command.target }] };
      case "timer":
        return state.alarm === command.at
          ? { events: [{ type: "alarm_fired", at: command.at }] }
          : { events: [] };
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case "added":
        return { ...state, n: state.n + event.by };
      case "alarm_set":
        return { ...state, alarm: event.at };
      case "alarm_fired":
        return { ...state, alarm: null, fired: [...state.fired, `alarm@${event.at}`] };
      case "poked":
        return state;
    }
  },
  // A poke adds one to the target counter, once per poking event.
  effects: (state, event, address) =>
    event.type === "poked"
      ? [{
        address: { ...address, id: event.target },
        command: { type: "add" },
        commandId: `poke:${address.id}:${state.n}:${event.target}`,
      }]
      : [],
  // A retry is told the count its command left, not the current one.
  receipt: (state) => ({ n: state.n }),
  timers: (state) => (state.alarm === null ? [] : [{ name: "alarm", at: state.alarm }]),
  project: (state) => ({
    status: "open",
    assignee: null,
    createdAt: 0,
    updatedAt: 0,
    doc: { n: state.n },
  }),
};
