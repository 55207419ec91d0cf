/// <reference lib="dom" />
/**
 * The offers waiting for the agent's answer, above every tab: what is
 * offered, the seconds left, Accept and Decline (`a` / `d` answer the
 * oldest); a live region announces each new offer.
 *
 * @module
 */
import { html } from "htm/preact";
import { visitorName } from "./_chat_view.ts";
import type { Desk } from "./_desk.ts";
import { type Offer, secondsLeft } from "./_offers.ts";

/** Seconds left under which an offer is drawn as urgent. */
const urgentSeconds = 10;

function offerTitle(desk: Desk, offer: Offer): string {
  if (offer.kind === "chat") return `Chat with ${visitorName(desk.conversations.value[offer.id])}`;
  const subject = desk.subjects.value[offer.id];
  return subject ? `Ticket: ${subject}` : `Ticket ${offer.id}`;
}

/** The offers panel (nothing drawn but the live region while none is outstanding). */
export function OffersPanel(
  { desk, onAccept }: { desk: Desk; onAccept: (offer: Offer) => void },
) {
  const offers = desk.offers.pending.value;
  const now = desk.now.value;
  const newest = offers.at(-1);
  return html`
    <p class="visually-hidden" aria-live="assertive">${newest
      ? `Offered to you: ${offerTitle(desk, newest)}`
      : ""}</p>
    ${offers.length > 0 && html`
      <section class="offers" aria-labelledby="offers-title">
        <h2 id="offers-title">Offered to you <span class="count">${offers.length}</span></h2>
        <ul>
          ${offers.map((offer, i) => {
            const key = `${offer.kind}:${offer.id}`;
            const left = secondsLeft(offer, now);
            // The first offer is the one `a` and `d` answer.
            const keys = (letter: string) =>
              i === 0 && html`
                <kbd aria-hidden="true">${letter}</kbd>
              `;
            return html`
              <li key=${key} class=${left <= urgentSeconds ? "offer urgent" : "offer"}>
                <span class="who" id=${`offer-${key}`}>${offerTitle(desk, offer)}</span>
                <span class="left">${left} s left</span>
                <button type="button" class="accept" aria-describedby=${`offer-${key}`}
                  aria-keyshortcuts=${i === 0 ? "a" : undefined} onClick=${() => onAccept(offer)}>
                  Accept${keys("a")}
                </button>
                <button type="button" class="decline" aria-describedby=${`offer-${key}`}
                  aria-keyshortcuts=${i === 0 ? "d" : undefined}
                  onClick=${() => desk.answer(offer, false).catch(() => {})}>
                  Decline${keys("d")}
                </button>
              </li>
            `;
          })}
        </ul>
      </section>
    `}
  `;
}
