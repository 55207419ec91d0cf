/// <reference lib="dom" />
/**
 * A scrolling list that draws only the rows in view (and a few around), so
 * a history of 10,000 messages costs what one screenful costs. Rows may
 * differ in height: each is measured once drawn and estimated before.
 * It stays at the bottom when it was there, keeps its place when older rows
 * are put on top, and asks for more when scrolled to the top.
 *
 * @module
 */
import type { ComponentChildren } from "preact";
import { useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { html } from "htm/preact";

/** Props of {@linkcode VirtualList}. */
export interface VirtualListProps<T> {
  items: T[];
  keyOf(item: T): number;
  row(item: T): ComponentChildren;
  /** Called when the top is in view: time to load older items. */
  onTop?(): void;
  label: string;
}

const estimate = 56;
const overscanPx = 400;

/** A virtualised list, newest at the bottom. */
export function VirtualList<T>(props: VirtualListProps<T>) {
  const { items, keyOf } = props;
  const box = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<number, number>());
  const [measured, setMeasured] = useState(0);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });
  const atBottom = useRef(true);
  const anchor = useRef<{ key: number; offset: number } | null>(null);

  const offsets = useMemo(() => {
    const result = new Float64Array(items.length + 1);
    for (let i = 0; i < items.length; i++) {
      result[i + 1] = result[i] + (heights.current.get(keyOf(items[i])) ?? estimate);
    }
    return result;
  }, [items, measured]);
  const total = offsets[items.length];
  const from = Math.max(0, search(offsets, scroll.top - overscanPx) - 1);
  const to = Math.min(items.length, search(offsets, scroll.top + scroll.height + overscanPx) + 1);

  // Keep the view where it was: at the bottom, or on the row it showed first.
  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    let changed = false;
    for (const row of element.querySelectorAll<HTMLElement>("[data-key]")) {
      const key = Number(row.dataset.key);
      const height = row.offsetHeight;
      if (heights.current.get(key) !== height) heights.current.set(key, height), changed = true;
    }
    if (changed) return setMeasured((n) => n + 1);
    if (atBottom.current) element.scrollTop = element.scrollHeight;
    else if (anchor.current) {
      const index = items.findIndex((item) => keyOf(item) === anchor.current!.key);
      if (index >= 0) element.scrollTop = offsets[index] + anchor.current.offset;
    }
  });

  const onScroll = () => {
    const element = box.current!;
    atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
    const first = search(offsets, element.scrollTop);
    const item = items[Math.min(first, items.length - 1)];
    anchor.current = item === undefined
      ? null
      : { key: keyOf(item), offset: element.scrollTop - offsets[first] };
    setScroll({ top: element.scrollTop, height: element.clientHeight });
    if (element.scrollTop < overscanPx) props.onTop?.();
  };

  useLayoutEffect(() => {
    const element = box.current!;
    setScroll({ top: element.scrollTop, height: element.clientHeight });
  }, []);

  return html`
    <div class="vlist" ref=${box} onScroll=${onScroll} role="log" aria-label=${props.label}
      tabindex="0">
      <div class="vlist-space" style=${{ height: `${total}px` }}>
        ${items.slice(from, to).map((item, i) =>
          html`
            <div class="vlist-row" key=${keyOf(item)} data-key=${keyOf(item)}
              style=${{ transform: `translateY(${offsets[from + i]}px)` }}>${props.row(item)}</div>
          `
        )}
      </div>
    </div>
  `;
}

/** The index of the row at `y`: the last offset not past it. */
function search(offsets: Float64Array, y: number): number {
  let low = 0;
  let high = offsets.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (offsets[mid] <= y) low = mid;
    else high = mid - 1;
  }
  return low;
}
