import { formatDay } from "./tile";
import type { LevelPoint, Notice, OrderView, SlotInventory } from "./bindings";

/** `640 g`, `12 pcs`, `1.5 ml`. */
export function formatAmount(value: number, unit: string, locale?: string): string {
  const n = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(value);
  return `${n} ${unit === "count" ? "pcs" : unit}`;
}

/**
 * What a slot's page says of its future, true in every state: not reported yet, ran out, too
 * little history, a run-out range, or nothing in sight; and what the stock at home covers.
 */
export function forecastText(slot: SlotInventory, locale?: string): string {
  const f = slot.forecast;
  const day = (iso: string) => formatDay(iso, locale);
  const amount = (v: number) => formatAmount(v, slot.unit, locale);
  const days = (d: number) => (Math.round(d) === 1 ? "1 day" : `${Math.round(d)} days`);
  let text: string;
  if (slot.remaining === null) {
    text = "No report yet.";
  } else if (f.ranOut) {
    text = `Ran out on ${day(f.ranOut)}.`;
  } else if (f.historyDays === 0) {
    text =
      f.usualUse > 0
        ? `Not enough history yet: about ${days(slot.remaining / f.usualUse)} at the usual use.`
        : "Not enough history yet.";
  } else if (f.earliest && f.latest) {
    const [from, to] = [day(f.earliest), day(f.latest)];
    text = from === to ? `Runs out around ${from}` : `Runs out between ${from} and ${to}`;
    text += f.rate > 0 ? ` (about ${amount(f.rate)} a day` : "";
    if (f.historyDays < 7) text += `${f.rate > 0 ? ", " : " ("}from ${days(f.historyDays)} of history`;
    text += f.rate > 0 || f.historyDays < 7 ? ")." : ".";
  } else if (f.earliest) {
    text = `Runs out ${day(f.earliest)} at the earliest.`;
  } else {
    text = "No run-out in sight yet.";
  }
  if (f.silentSince && slot.remaining !== null) {
    const since = new Intl.DateTimeFormat(locale, { weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit" }).format(new Date(f.silentSince));
    text = `Not reporting since ${since}. ${text}`;
  }
  if (slot.onHand > 0) {
    // The same rate as the run-out above.
    const rate = f.historyDays === 0 ? f.usualUse : f.rate;
    text +=
      rate > 0 ? ` ${amount(slot.onHand)} at home covers about ${days(slot.onHand / rate)} more.` : ` ${amount(slot.onHand)} at home.`;
  }
  return text;
}

/**
 * `value` as a form field shows it: at most one decimal, no thousands separators (so that it reads
 * back as the same number), `""` for none.
 */
export function inputAmount(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "";
  return String(Math.round(value * 10) / 10);
}

/** Whether `order` can still be cancelled at `now`. */
export function canCancel(order: Pick<OrderView, "status" | "cancellableUntil">, now: Date): boolean {
  return order.status === "placed" && order.cancellableUntil !== null && new Date(order.cancellableUntil) > now;
}

/**
 * What the inbox offers on a notice at `now`: reorder a low item, cancel a placed order (not
 * once a later notice in `all` says the order moved on), or answer a device that asks first
 * (until the request is answered or expires).
 */
export function noticeAction(notice: Notice, now: Date, all: Notice[] = []): "reorder" | "cancel" | "answer" | null {
  if (notice.kind === "lowSupply" && notice.asin) return "reorder";
  // "Order anyway" at the price the notice names.
  if (notice.kind === "priceRose" && notice.asin && notice.confirmPrice !== null) return "reorder";
  if (notice.kind === "approvalNeeded") return notice.approvalId ? "answer" : null;
  const movedOn = all.some(
    (n) => n.eventInstanceId === notice.eventInstanceId && ["shipped", "delivered", "cancelled"].includes(n.kind),
  );
  if (
    notice.kind === "orderPlaced" &&
    notice.eventInstanceId &&
    notice.cancellableUntil &&
    new Date(notice.cancellableUntil) > now &&
    !movedOn
  ) {
    return "cancel";
  }
  return null;
}

/** A level chart in a `width`×`height` box: time across (dates below), level up (amounts left). */
export interface Chart {
  width: number;
  height: number;
  /** The plotting area inside the box, leaving room for the scales. */
  plot: { left: number; top: number; right: number; bottom: number };
  /** The `points` of the level history's polyline. */
  levels: string;
  /** The most likely forecast, from the last level down to its run-out. */
  forecast: string | null;
  /** The `points` of the run-out range's band: from the last level down to the earliest and the latest run-out. */
  band: string | null;
  /** The y of the low threshold line, when the customer set one. */
  minimumY: number | null;
  /** Dates along the bottom, at midnight, a day or more apart. */
  xTicks: { x: number; label: string }[];
  /** Amounts up the side: none, half and the top, in the slot's unit. */
  yTicks: { y: number; label: string }[];
  /** Orders placed, due and delivered, each with a line of words for its tooltip. */
  marks: { x: number; kind: "placed" | "due" | "delivered"; label: string }[];
}

const DAY = 86_400_000;
/** How far past the last report a forecast is drawn at most. */
const FORECAST_SPAN = 30 * DAY;

/** The level history of `slot`, its forecast to the run-out range and its orders, as a chart `width`×`height`. */
export function levelChart(slot: SlotInventory, width: number, height: number, locale?: string): Chart {
  const plot = { left: 52, top: 8, right: width - 8, bottom: height - 18 };
  const points: LevelPoint[] = slot.levels;
  const at = (iso: string) => Date.parse(iso);
  const lastPoint = points[points.length - 1];
  // The service's clock, not this machine's, says when things happen (a sandbox's may run fast).
  const lastAt = lastPoint ? at(lastPoint.at) : 0;
  const cap = lastAt + FORECAST_SPAN;
  // The run-out the page states (the forecast's most likely one) and its range, drawn at most a month ahead.
  const f = slot.forecast;
  const likely = f.likely ?? slot.runsOut;
  const ends = [likely, f.earliest, f.latest].map((t) => (t ? at(t) : null));
  const marksAt = slot.orders.flatMap((o) => [at(o.placed), o.delivered ? at(o.delivered) : null, o.expected ? at(o.expected) : null]);
  const times = [...points.map((p) => at(p.at)), ...marksAt.filter((t): t is number => t !== null)];
  const start = times.length > 0 ? Math.min(...times) : lastAt - DAY;
  const last = Math.min(cap, Math.max(start + DAY, ...times, ...ends.map((t) => t ?? 0)));
  const top = Math.max(slot.capacity, ...points.map((p) => p.remaining), 1e-9);
  const x = (t: number) => plot.left + ((Math.min(t, last) - start) / (last - start)) * (plot.right - plot.left);
  const y = (v: number) => plot.bottom - (Math.max(0, v) / top) * (plot.bottom - plot.top);
  const fmt = (n: number) => n.toFixed(1);
  const point = (t: number, v: number) => `${fmt(x(t))},${fmt(y(v))}`;
  const levels = points.map((p) => point(at(p.at), p.remaining)).join(" ");
  // A straight line from the last level to nothing at `end`, cut where the chart ends.
  const down = (end: number) => {
    if (!lastPoint) return "";
    const t = Math.min(Math.max(end, lastAt), last);
    const v = end > lastAt ? lastPoint.remaining * (1 - (t - lastAt) / (end - lastAt)) : 0;
    return point(t, v);
  };
  const from = lastPoint ? point(lastAt, lastPoint.remaining) : null;
  const [likelyAt = null, earliestAt = null, latestAt = null] = ends;
  const forecast = from && likelyAt !== null && !f.ranOut ? `${from} ${down(likelyAt)}` : null;
  const band =
    from && earliestAt !== null && latestAt !== null && latestAt > earliestAt && !f.ranOut
      ? [from, down(earliestAt), ...(latestAt > last && earliestAt <= last ? [point(last, 0)] : []), down(latestAt)].join(" ")
      : null;
  const dayLabel = new Intl.DateTimeFormat(locale, { month: "short", day: "numeric" });
  const span = (last - start) / DAY;
  const step = [1, 2, 3, 7, 14, 30].find((d) => span / d <= 6) ?? 60;
  const xTicks: Chart["xTicks"] = [];
  // The first midnight from the start on.
  const first = new Date(start);
  first.setHours(0, 0, 0, 0);
  if (first.getTime() < start) first.setDate(first.getDate() + 1);
  for (let t = first; t.getTime() <= last; t = new Date(t.getFullYear(), t.getMonth(), t.getDate() + step)) {
    xTicks.push({ x: x(t.getTime()), label: dayLabel.format(t) });
  }
  const yTicks = [0, top / 2, top].map((v) => ({ y: y(v), label: formatAmount(v, slot.unit, locale) }));
  const when = new Intl.DateTimeFormat(locale, { weekday: "short", month: "short", day: "numeric" });
  const packs = (n: number) => (n === 1 ? "1 pack" : `${n} packs`);
  const marks: Chart["marks"] = [];
  for (const o of slot.orders) {
    marks.push({ x: x(at(o.placed)), kind: "placed", label: `Ordered ${packs(o.quantity)} on ${when.format(new Date(o.placed))}` });
    if (o.delivered) marks.push({ x: x(at(o.delivered)), kind: "delivered", label: `Delivered on ${when.format(new Date(o.delivered))}` });
    else if (o.expected && at(o.expected) <= last) marks.push({ x: x(at(o.expected)), kind: "due", label: `Due on ${when.format(new Date(o.expected))}` });
  }
  return {
    width,
    height,
    plot,
    levels,
    forecast,
    band,
    minimumY: slot.minimum === null ? null : y(slot.minimum),
    xTicks,
    yTicks,
    marks,
  };
}
