import type { LevelPoint, Notice, OrderView, SlotInventory } from "./bindings";

/** `640 g`, `12 pcs`, `1.5 ml`. */
export function formatAmount(value: number, unit: string, locale?: string): string {
  const n = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(value);
  return `${n} ${unit === "count" ? "pcs" : unit}`;
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
  const end = slot.runsOut ? Date.parse(slot.runsOut) : null;
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
