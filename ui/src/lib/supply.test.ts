import { describe, expect, it } from "vitest";
import { canCancel, formatAmount, levelChart, noticeAction } from "./supply";
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
