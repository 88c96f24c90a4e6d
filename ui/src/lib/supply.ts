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
 * What the inbox offers on a notice at `now`: reorder a low item, or cancel a placed order (not
 * once a later notice in `all` says the order moved on).
 */
export function noticeAction(notice: Notice, now: Date, all: Notice[] = []): "reorder" | "cancel" | null {
  if (notice.kind === "lowSupply" && notice.asin) return "reorder";
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

/** Points of a level chart, `x,y` in a `width`×`height` box: time across, level up. */
export interface Chart {
  /** The `points` of the level history's polyline. */
  levels: string;
  /** The forecast from the last level to the run-out date, when there is one. */
  forecast: string | null;
  /** The y of the low threshold line, when the customer set one. */
  minimumY: number | null;
}

/** The level history of `slot` (and its forecast to run-out) as a chart `width`×`height`. */
export function levelChart(slot: SlotInventory, width: number, height: number): Chart {
  const points: LevelPoint[] = slot.levels;
  const times = points.map((p) => Date.parse(p.at));
  // The run-out the page states: the forecast's most likely one.
  const likely = slot.forecast.likely ?? slot.runsOut;
  const end = likely ? Date.parse(likely) : null;
  const start = times.length > 0 ? Math.min(...times) : Date.now();
  const last = Math.max(start + 1, ...times, end ?? 0);
  const top = Math.max(slot.capacity, ...points.map((p) => p.remaining), 1e-9);
  const x = (t: number) => ((t - start) / (last - start)) * width;
  const y = (v: number) => height - (Math.max(0, v) / top) * height;
  const fmt = (n: number) => n.toFixed(1);
  const levels = points.map((p) => `${fmt(x(Date.parse(p.at)))},${fmt(y(p.remaining))}`).join(" ");
  const lastPoint = points[points.length - 1];
  const forecast =
    end !== null && lastPoint
      ? `${fmt(x(Date.parse(lastPoint.at)))},${fmt(y(lastPoint.remaining))} ${fmt(x(end))},${fmt(y(0))}`
      : null;
  return { levels, forecast, minimumY: slot.minimum === null ? null : y(slot.minimum) };
}
