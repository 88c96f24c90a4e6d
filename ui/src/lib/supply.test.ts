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

  it("draws the history across the box and the forecast down to zero at the run-out date", () => {
    const chart = levelChart(aSlot(), 400, 100);
    // Four days from the first level to run-out: the levels take the first half.
    expect(chart.levels).toBe("0.0,0.0 200.0,50.0");
    expect(chart.forecast).toBe("200.0,50.0 400.0,100.0");
    expect(chart.minimumY).toBeNull();
    const noForecast = levelChart(aSlot({ runsOut: null, minimum: 250 }), 400, 100);
    expect(noForecast.forecast).toBeNull();
    expect(noForecast.levels).toBe("0.0,0.0 400.0,50.0");
    expect(noForecast.minimumY).toBe(75);
  });
});
