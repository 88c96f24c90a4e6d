import type { ButtonTile, Money, Quantity } from "./bindings";

/** What happened last on a tile, shown in its status line. */
export type Notice =
  | { kind: "placed" }
  | { kind: "in-progress" }
  | { kind: "cancelled" }
  | { kind: "error"; message: string }
  /** The price rose more than 10 % since last time: nothing ordered until `price` is confirmed. */
  | { kind: "price-rose"; message: string; price: number };

export interface TileStatus {
  text: string;
  tone: "neutral" | "ordered" | "error" | "warn";
  canCancel: boolean;
}

const day = (locale?: string) =>
  new Intl.DateTimeFormat(locale, { weekday: "short", month: "short", day: "numeric" });

/** `Tue, Nov 24`. */
export function formatDay(iso: string, locale?: string): string {
  return day(locale).format(new Date(iso));
}

/** `$18.99`, in the currency's own number of decimals. */
export function formatMoney(money: Money, locale?: string): string {
  const format = new Intl.NumberFormat(locale, {
    style: "currency",
    currency: money.currency,
    currencyDisplay: "narrowSymbol",
  });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(money.amountMinor / 10 ** digits);
}

/** `1,000 g`, `100 pcs`. */
export function formatPack(pack: Quantity, locale?: string): string {
  const n = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(pack.value);
  return `${n} ${pack.unit === "count" ? "pcs" : pack.unit}`;
}

/** The tile's status line and whether it offers Cancel, at `now`. */
export function tileStatus(tile: ButtonTile, notice: Notice | null, now: Date, locale?: string): TileStatus {
  const order = tile.openOrder;
  const canCancel =
    order !== null &&
    order.status === "placed" &&
    order.cancellableUntil !== null &&
    new Date(order.cancellableUntil) > now;
  if (notice?.kind === "error") {
    return { text: notice.message, tone: "error", canCancel };
  }
  if (notice?.kind === "price-rose" && !order) {
    return { text: notice.message, tone: "warn", canCancel: false };
  }
  if (order) {
    const arrives = formatDay(order.expectedDelivery, locale);
    if (order.status === "shipped") return { text: `Shipped, arrives ${arrives}`, tone: "ordered", canCancel };
    const prefix = notice?.kind === "in-progress" ? "Already ordered" : "Ordered";
    return { text: `${prefix}, arrives ${arrives}`, tone: "ordered", canCancel };
  }
  if (notice?.kind === "cancelled") return { text: "Order cancelled", tone: "neutral", canCancel: false };
  if (tile.lastOrderedAt) {
    return { text: `Last ordered ${formatDay(tile.lastOrderedAt, locale)}`, tone: "neutral", canCancel: false };
  }
  return { text: "Not ordered recently", tone: "neutral", canCancel: false };
}

/**
 * How soon the tile's supply runs out, when that is within two weeks: "About 3 days left";
 * "Ran out" once a slot holding it reported empty with nothing at home; `null` when nothing
 * tracks it, its use is not known yet, or it lasts longer. Counted by the service's clock, which
 * a sandbox may run fast.
 */
export function tileNeed(tile: ButtonTile): string | null {
  if (tile.ranOut) return "Ran out";
  const days = tile.daysLeft;
  if (days === null || days > 14) return null;
  if (days <= 0) return "Probably out by now";
  if (days < 1) return "Less than a day left";
  const n = Math.round(days);
  return n === 1 ? "About 1 day left" : `About ${n} days left`;
}
