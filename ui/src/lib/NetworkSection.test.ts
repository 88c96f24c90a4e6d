import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import NetworkSection from "./NetworkSection.svelte";
import type { Api } from "./api";
import type { NetworkAccess } from "./bindings";

afterEach(cleanup);

const off: NetworkAccess = {
  available: true,
  on: false,
  url: null,
  fingerprint: null,
  problem: null,
  movedFrom: null,
};

function section(networkAccess: (on: boolean | null) => Promise<NetworkAccess>) {
  const api = { networkAccess: vi.fn(networkAccess) } as unknown as Api;
  render(NetworkSection, { props: { api } });
  return api;
}

describe("letting devices on this network reach Refill", () => {
  it("is off at first, says devices report only while this computer is on, and shows where once on", async () => {
    const api = section(async (on) =>
      on ? { ...off, on: true, url: "https://192.168.1.20:8750", fingerprint: "AB:CD" } : off,
    );
    const box = (await screen.findByTestId("network-access-on")) as HTMLInputElement;
    expect(box.checked).toBe(false);
    expect(screen.getByTestId("network-access").textContent).toContain("only while this computer is on");
    await fireEvent.click(box);
    expect(api.networkAccess).toHaveBeenLastCalledWith(true);
    expect((await screen.findByTestId("network-access-url")).textContent).toContain("https://192.168.1.20:8750");
    expect(screen.getByTestId("network-access-fingerprint").textContent).toBe("AB:CD");
  });

  it("says why devices cannot reach it although on", async () => {
    section(async () => ({ ...off, on: true, problem: "port 8750 is in use by another program on this computer" }));
    const problem = await screen.findByTestId("network-access-problem");
    expect(problem.textContent).toContain("port 8750 is in use");
  });

  it("says when this computer's address changed since devices were set up, and what to do", async () => {
    section(async () => ({
      ...off,
      on: true,
      url: "https://192.168.1.35:8750",
      fingerprint: "AB:CD",
      movedFrom: "https://192.168.1.20:8750",
    }));
    const moved = await screen.findByTestId("network-access-moved");
    expect(moved.textContent).toContain("https://192.168.1.20:8750");
    expect(moved.textContent).toContain("https://192.168.1.35:8750");
    expect(moved.textContent).toContain("fixed address");
  });

  it("is not offered with a Refill service elsewhere", async () => {
    const api = section(async () => ({ ...off, available: false }));
    await waitFor(() => expect(api.networkAccess).toHaveBeenCalled());
    expect(screen.queryByTestId("network-access")).toBeNull();
  });
});
