import type { LimitsChange, Money } from "./bindings";

/** How many minor units a major one has in `currency` (100 for USD, 1 for JPY). */
function perMajor(currency: string): number {
  try {
    const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    return 10 ** digits;
  } catch {
    return 100;
  }
}

/** A limit as the form shows it: `"50"`, `"12.5"`, or `""` for no limit. */
export function limitText(limit: Money | null): string {
  if (!limit) return "";
  return String(limit.amountMinor / perMajor(limit.currency));
}

/**
 * The limits the form says, in `currency`'s minor units; or what is wrong with them, in words.
 * An empty field is no limit.
 */
export function limitsChange(perOrder: string, perMonth: string, askFirst: boolean, currency: string): LimitsChange | string {
  const minor = (text: string, what: string): number | null | string => {
    const t = text.trim().replace(/^[$€£¥]/, "");
    if (t === "") return null;
    const n = Number(t);
    if (!Number.isFinite(n) || n <= 0) return `The most ${what} must be an amount above 0, or empty for no limit.`;
    return Math.round(n * perMajor(currency));
  };
  const order = minor(perOrder, "per order");
  if (typeof order === "string") return order;
  const month = minor(perMonth, "per month");
  if (typeof month === "string") return month;
  return { perOrderMinor: order, perMonthMinor: month, askFirst };
}
