import { describe, expect, it } from "vitest";
import { canCancel, forecastText, formatAmount, inputAmount, levelChart, noticeAction } from "./supply";
import type { Notice, SlotInventory } from "./bindings";

const now = new Date("2026-11-30T12:00:00Z");

function aNotice(over: Partial<Notice> = {}): Notice {
  return {
    id: 1,
    kind: "lowSupply",
    title: "Coffee beans are low: about 3 days left",
    body: "",
    at: now.toISOString(),
    asin: "B0RFBEAN01",
    eventInstanceId: null,
    cancellableUntil: null,
    slot: null,
    device: null,
    approvalId: null,
    confirmPrice: null,
    ...over,
  };
}

function aSlot(over: Partial<SlotInventory> = {}): SlotInventory {
  return {
    slotId: "brew-beans",
    name: "Coffee beans",
    unit: "g",
    capacity: 1000,
    remaining: 500,
    onHand: 0,
    mode: "notify",
    minimum: null,
    target: null,
    low: false,
    version: 1,
    dailyUse: 100,
    runsOut: "2026-11-05T00:00:00Z",
    forecast: {
      demand: "smooth",
      historyDays: 14,
      usualUse: 33.3,
      rate: 100,
      likely: null,
      earliest: "2026-12-14T12:00:00Z",
      latest: "2026-12-17T12:00:00Z",
      ranOut: null,
      silentSince: null,
      lastReport: "2026-11-03T00:00:00Z",
    },
    levels: [
      { at: "2026-11-01T00:00:00Z", remaining: 1000 },
      { at: "2026-11-03T00:00:00Z", remaining: 500 },
    ],
    orders: [],
    ...over,
  };
}

describe("supply", () => {
  it("formats amounts in the slot's unit", () => {
    expect(formatAmount(640, "g", "en-US")).toBe("640 g");
    expect(formatAmount(12, "count", "en-US")).toBe("12 pcs");
  });

  it("offers reorder on a low item and cancel only while the window is open", () => {
    expect(noticeAction(aNotice(), now)).toBe("reorder");
    const asked = aNotice({ kind: "approvalNeeded", asin: "B0RFBEAN01", approvalId: "refill.v1.a.1" });
    expect(noticeAction(asked, now)).toBe("answer");
    expect(noticeAction({ ...asked, approvalId: null }, now)).toBe(null);
    expect(noticeAction(aNotice({ asin: null }), now)).toBeNull();
    const placed = aNotice({ kind: "orderPlaced", eventInstanceId: "o1", cancellableUntil: "2026-11-30T13:00:00Z" });
    expect(noticeAction(placed, now)).toBe("cancel");
    expect(noticeAction({ ...placed, cancellableUntil: "2026-11-30T11:00:00Z" }, now)).toBeNull();
    // Cancelled (or shipped) since: nothing to cancel any more.
    const cancelled = aNotice({ id: 2, kind: "cancelled", eventInstanceId: "o1" });
    expect(noticeAction(placed, now, [cancelled, placed])).toBeNull();
    expect(noticeAction(placed, now, [aNotice({ id: 3, kind: "cancelled", eventInstanceId: "o2" }), placed])).toBe("cancel");
    expect(noticeAction(aNotice({ kind: "delivered" }), now)).toBeNull();
    expect(canCancel({ status: "shipped", cancellableUntil: "2026-12-01T00:00:00Z" }, now)).toBe(false);
  });

  it("says what is ahead in words that are true in every state", () => {
    const f = aSlot().forecast;
    expect(forecastText(aSlot(), "en-US")).toBe("Runs out between Mon, Dec 14 and Thu, Dec 17 (about 100 g a day).");
    expect(forecastText(aSlot({ forecast: { ...f, latest: "2026-12-14T20:00:00Z" } }), "en-US")).toBe(
      "Runs out around Mon, Dec 14 (about 100 g a day).",
    );
    expect(forecastText(aSlot({ remaining: null }), "en-US")).toBe("No report yet.");
    expect(forecastText(aSlot({ remaining: 0, forecast: { ...f, ranOut: "2026-12-11T09:00:00Z" } }), "en-US")).toBe(
      "Ran out on Fri, Dec 11.",
    );
    expect(forecastText(aSlot({ remaining: 400, forecast: { ...f, historyDays: 0 } }), "en-US")).toBe(
      "Not enough history yet: about 12 days at the usual use.",
    );
    // A few days of its own: the range, and what it rests on.
    expect(forecastText(aSlot({ forecast: { ...f, historyDays: 3 } }), "en-US")).toBe(
      "Runs out between Mon, Dec 14 and Thu, Dec 17 (about 100 g a day, from 3 days of history).",
    );
    expect(forecastText(aSlot({ forecast: { ...f, earliest: null, latest: null } }), "en-US")).toBe("No run-out in sight yet.");
    expect(forecastText(aSlot({ forecast: { ...f, silentSince: "2026-12-01T08:00:00Z" } }), "en-US")).toMatch(
      /^Not reporting since Tue, Dec 1, \d{1,2}:00 [AP]M\. Runs out between/,
    );
    expect(forecastText(aSlot({ onHand: 2000, forecast: { ...f, rate: 64.5 } }), "en-US")).toBe(
      "Runs out between Mon, Dec 14 and Thu, Dec 17 (about 64.5 g a day). 2,000 g at home covers about 31 days more.",
    );
  });

  it("shows a field's number with no more decimals than it needs", () => {
    expect(inputAmount(1521.065046007)).toBe("1521.1");
    expect(inputAmount(3)).toBe("3");
    expect(inputAmount(null)).toBe("");
  });

  it("draws the history, the forecast to its run-out, a date under each day and the amounts up the side", () => {
    const slot = aSlot({ forecast: { ...aSlot().forecast, likely: null, earliest: null, latest: null } });
    // 400×100 with room for the scales: x from 52 to 392, y from 82 (none) up to 8 (full).
    const chart = levelChart(slot, 400, 100, "en-US");
    // Four days from the first level to run-out (Nov 5): the levels take the first half.
    expect(chart.levels).toBe("52.0,8.0 222.0,45.0");
    expect(chart.forecast).toBe("222.0,45.0 392.0,82.0");
    expect(chart.band).toBeNull();
    expect(chart.minimumY).toBeNull();
    expect(chart.xTicks).toEqual([
      { x: 52, label: "Nov 1" },
      { x: 137, label: "Nov 2" },
      { x: 222, label: "Nov 3" },
      { x: 307, label: "Nov 4" },
      { x: 392, label: "Nov 5" },
    ]);
    expect(chart.yTicks).toEqual([
      { y: 82, label: "0 g" },
      { y: 45, label: "500 g" },
      { y: 8, label: "1,000 g" },
    ]);
    const noForecast = levelChart({ ...slot, runsOut: null, minimum: 250 }, 400, 100, "en-US");
    expect(noForecast.forecast).toBeNull();
    expect(noForecast.levels).toBe("52.0,8.0 392.0,45.0");
    expect(noForecast.minimumY).toBe(63.5);
  });

  it("shades the run-out range from the last level down to its earliest and latest days", () => {
    const range = (earliest: string, latest: string) =>
      aSlot({ forecast: { ...aSlot().forecast, likely: "2026-11-05T00:00:00Z", earliest, latest } });
    // Nov 1 to Nov 7: 340 / 6 across a day.
    const chart = levelChart(range("2026-11-04T00:00:00Z", "2026-11-07T00:00:00Z"), 400, 100, "en-US");
    expect(chart.band).toBe("165.3,45.0 222.0,82.0 392.0,82.0");
    expect(chart.forecast).toBe("165.3,45.0 278.7,82.0");
    expect(chart.xTicks.map((t) => t.label)).toEqual(["Nov 1", "Nov 2", "Nov 3", "Nov 4", "Nov 5", "Nov 6", "Nov 7"]);
    // A latest run-out far off is cut a month after the last report, where the band's top edge has got to.
    const far = levelChart(range("2026-11-04T00:00:00Z", "2026-12-30T00:00:00Z"), 400, 100, "en-US");
    expect(far.band?.split(" ").slice(2)).toEqual(["392.0,82.0", "392.0,64.5"]);
    expect(far.xTicks.at(-1)?.label).toBe("Nov 29");
    // An empty slot has no forecast to draw.
    const out = range("2026-11-04T00:00:00Z", "2026-11-07T00:00:00Z");
    const empty = levelChart({ ...out, forecast: { ...out.forecast, ranOut: "2026-11-03T00:00:00Z" } }, 400, 100);
    expect(empty.band).toBeNull();
    expect(empty.forecast).toBeNull();
  });

  it("marks orders where they were placed, delivered or are due, in words", () => {
    const slot = aSlot({
      forecast: { ...aSlot().forecast, likely: null, earliest: null, latest: null },
      orders: [
        { placed: "2026-11-02T00:00:00Z", delivered: "2026-11-03T00:00:00Z", expected: null, status: "delivered", quantity: 2 },
        { placed: "2026-11-03T00:00:00Z", delivered: null, expected: "2026-11-05T00:00:00Z", status: "placed", quantity: 1 },
      ],
    });
    expect(levelChart(slot, 400, 100, "en-US").marks).toEqual([
      { x: 137, kind: "placed", label: "Ordered 2 packs on Mon, Nov 2" },
      { x: 222, kind: "delivered", label: "Delivered on Tue, Nov 3" },
      { x: 222, kind: "placed", label: "Ordered 1 pack on Tue, Nov 3" },
      { x: 392, kind: "due", label: "Due on Thu, Nov 5" },
    ]);
  });
});
