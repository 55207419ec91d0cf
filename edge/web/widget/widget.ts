/// <reference lib="dom" />
/**
 * The visitor widget, loaded by one tag on any page:
 * `<script src="https://edge/widget.js" data-key="WIDGET_KEY" async></script>`
 * (`data-topic="billing"` names the topic of the page's chats). It draws a
 * launcher and a chat panel in a shadow root and takes commands queued
 * before it loaded: `window.Switchboard = window.Switchboard || [];
 * Switchboard.push(["identify", {…}])`, `["topic", "billing"]`, `["open"]`,
 * `["close"]`, `["on", "message", fn]`.
 *
 * @module
 */
import { h, render } from "preact";
import { VisitorChat, type VisitorIdentity } from "./_chat.ts";
import { widgetCss } from "./_styles.ts";
import { Widget } from "./_view.ts";
import type { MessageFrame } from "../client/protocol_client.ts";

/** A command of the host page's queue. */
type Command =
  | ["identify", VisitorIdentity]
  | ["topic", string | undefined]
  | ["open"]
  | ["close"]
  | ["on", "message", (message: MessageFrame) => void];

/** Where the host page queues its commands. */
const page = globalThis as unknown as { Switchboard?: Command[] | { push(c: Command): void } };

function run(chat: VisitorChat, command: Command): void {
  switch (command[0]) {
    case "identify":
      return chat.identify(command[1]);
    case "topic":
      return chat.setTopic(command[1]);
    case "open":
      return chat.setOpen(true);
    case "close":
      return chat.setOpen(false);
    case "on":
      if (command[1] === "message") chat.onMessage(command[2]);
  }
}

function mount(script: HTMLScriptElement): void {
  const key = script.dataset.key;
  if (!key) return console.error("switchboard: the widget's <script> needs data-key");
  let storage: Storage | undefined;
  try {
    storage = globalThis.localStorage;
  } catch {
    storage = undefined;
  }
  const chat = new VisitorChat(new URL(script.src).origin, key, storage);
  chat.setTopic(script.dataset.topic);
  const queued = Array.isArray(page.Switchboard) ? page.Switchboard : [];
  for (const command of queued) run(chat, command);
  page.Switchboard = { push: (command: Command) => run(chat, command) };

  const host = document.createElement("div");
  host.id = "switchboard-widget";
  const shadow = host.attachShadow({ mode: "open" });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(widgetCss);
  shadow.adoptedStyleSheets = [sheet];
  const root = document.createElement("div");
  root.className = "root";
  shadow.append(root);
  document.body.append(host);
  render(h(Widget, { chat }), root);
  chat.start();
  // What the demo's time-to-interactive is measured to.
  performance.mark("switchboard:interactive");
}

const script = document.currentScript;
if (script instanceof HTMLScriptElement) mount(script);
