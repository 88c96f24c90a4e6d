import { describe, expect, it } from "vitest";
import { nextTile, type Spot } from "./gridnav";

/** Seven tiles, three to a row: 0 1 2 / 3 4 5 / 6. */
const grid: Spot[] = Array.from({ length: 7 }, (_, i) => ({ x: (i % 3) * 240, y: Math.floor(i / 3) * 300 }));

describe("arrow keys in the grid", () => {
  it("goes along a row and across rows, and stays at the ends", () => {
    expect(nextTile(grid, 0, "ArrowRight")).toBe(1);
    expect(nextTile(grid, 2, "ArrowRight")).toBe(3);
    expect(nextTile(grid, 3, "ArrowLeft")).toBe(2);
    expect(nextTile(grid, 0, "ArrowLeft")).toBeNull();
    expect(nextTile(grid, 6, "ArrowRight")).toBeNull();
  });

  it("goes up and down to the nearest tile of the next row, as laid out", () => {
    expect(nextTile(grid, 1, "ArrowDown")).toBe(4);
    expect(nextTile(grid, 4, "ArrowUp")).toBe(1);
    // The last row has one tile: down from the middle column lands on it.
    expect(nextTile(grid, 5, "ArrowDown")).toBe(6);
    expect(nextTile(grid, 6, "ArrowDown")).toBeNull();
    expect(nextTile(grid, 2, "ArrowUp")).toBeNull();
  });

  it("goes to the first and last with Home and End, and leaves other keys alone", () => {
    expect(nextTile(grid, 4, "Home")).toBe(0);
    expect(nextTile(grid, 4, "End")).toBe(6);
    expect(nextTile(grid, 4, "Enter")).toBeNull();
    expect(nextTile(grid, 9, "ArrowLeft")).toBeNull();
  });
});
