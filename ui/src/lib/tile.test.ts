import { describe, expect, it } from "vitest";
import type { OrderView } from "./bindings";
import { aTile, anOrder } from "./fixtures";
import { formatMoney, formatPack, tileNeed, tileStatus } from "./tile";

const order = (over: Partial<OrderView> = {}) =>
  anOrder({
    placedAt: "2026-11-22T09:00:00Z",
    expectedDelivery: "2026-11-24T09:00:00Z",
    cancellableUntil: "2026-11-23T09:00:00Z",
    ...over,
  });
const tile = aTile;

const noon = new Date("2026-11-22T12:00:00Z");

describe("tileStatus", () => {
  it("shows the last order date when nothing is open", () => {
    expect(tileStatus(tile(), null, noon, "en-US")).toEqual({
      text: "Last ordered Tue, Nov 10",
      tone: "neutral",
      canCancel: false,
    });
  });

  it("shows the arrival date and offers Cancel inside the window", () => {
    const s = tileStatus(tile({ openOrder: order() }), { kind: "placed" }, noon, "en-US");
    expect(s).toEqual({ text: "Ordered, arrives Tue, Nov 24", tone: "ordered", canCancel: true });
  });

  it("says the order was already open after ORDER_INPROGRESS", () => {
    const s = tileStatus(tile({ openOrder: order() }), { kind: "in-progress" }, noon, "en-US");
    expect(s.text).toBe("Already ordered, arrives Tue, Nov 24");
  });

  it("stops offering Cancel when the window has closed or the order shipped", () => {
    const late = new Date("2026-11-23T09:00:01Z");
    expect(tileStatus(tile({ openOrder: order() }), null, late, "en-US").canCancel).toBe(false);
    const shipped = tileStatus(tile({ openOrder: order({ status: "shipped", cancellableUntil: null }) }), null, noon, "en-US");
    expect(shipped).toEqual({ text: "Shipped, arrives Tue, Nov 24", tone: "ordered", canCancel: false });
  });

  it("shows errors in words and keeps Cancel for an open order", () => {
    const s = tileStatus(tile({ openOrder: order() }), { kind: "error", message: "Can't reach it." }, noon, "en-US");
    expect(s).toEqual({ text: "Can't reach it.", tone: "error", canCancel: true });
  });
});

describe("tileNeed", () => {
  const left = (daysLeft: number | null) => tile({ daysLeft, runsOut: daysLeft === null ? null : "2026-11-25T12:00:00Z" });
  it("says how many days are left within two weeks, and nothing further off or unknown", () => {
    expect(tileNeed(left(3.2))).toBe("About 3 days left");
    expect(tileNeed(left(1.4))).toBe("About 1 day left");
    expect(tileNeed(left(0.3))).toBe("Less than a day left");
    expect(tileNeed(left(-1))).toBe("Probably out by now");
    expect(tileNeed(left(14))).toBe("About 14 days left");
    expect(tileNeed(left(15))).toBeNull();
    expect(tileNeed(left(null))).toBeNull();
  });
  it("says it ran out when a slot reported empty, not only that it probably has", () => {
    expect(tileNeed(tile({ daysLeft: -0.5, runsOut: "2026-11-25T12:00:00Z", ranOut: true }))).toBe("Ran out");
    expect(tileNeed(tile({ daysLeft: 0, runsOut: "2026-11-25T12:00:00Z", ranOut: false }))).toBe("Probably out by now");
  });
});

describe("formatting", () => {
  it("formats money in the currency's minor unit", () => {
    expect(formatMoney({ amountMinor: 1899, currency: "USD" }, "en-US")).toBe("$18.99");
    expect(formatMoney({ amountMinor: 1500, currency: "JPY" }, "en-US")).toBe("¥1,500");
  });
  it("formats pack sizes", () => {
    expect(formatPack({ value: 1000, unit: "g" }, "en-US")).toBe("1,000 g");
    expect(formatPack({ value: 100, unit: "count" }, "en-US")).toBe("100 pcs");
  });
});
