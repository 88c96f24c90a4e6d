import { describe, expect, it } from "vitest";
import { limitsChange, limitText } from "./say";

describe("a screened device's limits", () => {
  it("reads amounts in the currency's units, empty for no limit, and says what is wrong", () => {
    expect(limitsChange("12.50", "", true, "USD")).toEqual({ perOrderMinor: 1250, perMonthMinor: null, askFirst: true });
    expect(limitsChange("", "$50", false, "USD")).toEqual({ perOrderMinor: null, perMonthMinor: 5000, askFirst: false });
    expect(limitsChange("500", "", false, "JPY")).toEqual({ perOrderMinor: 500, perMonthMinor: null, askFirst: false });
    expect(limitsChange("0", "", false, "USD")).toBe("The most per order must be an amount above 0, or empty for no limit.");
    expect(limitsChange("", "lots", false, "USD")).toBe("The most per month must be an amount above 0, or empty for no limit.");
    expect(limitText({ amountMinor: 5000, currency: "USD" })).toBe("50");
    expect(limitText(null)).toBe("");
  });
});
