import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import ServiceSection from "./ServiceSection.svelte";
import type { Api } from "./api";
import type { ServiceInfo } from "./bindings";

afterEach(cleanup);

const sandbox: ServiceInfo = { kind: "embedded", url: "http://127.0.0.1:41000", fixed: false };

function api(over: Partial<Api> = {}): Api {
  return {
    serviceInfo: vi.fn(async () => sandbox),
    checkService: vi.fn(async (url: string) => {
      if (url.includes("nope")) throw { code: "service_unreachable", message: `Can't reach the Refill service at ${url}.` };
      return { url: url.replace(/\/$/, ""), version: "0.1.0", sandbox: false };
    }),
    chooseService: vi.fn(async (url: string | null) => ({ kind: url ? "external" : "embedded", url, fixed: false }) as ServiceInfo),
    ...over,
  } as unknown as Api;
}

describe("choosing the Refill service", () => {
  it("checks an address, says what answered or why nothing did, then uses it", async () => {
    const onservice = vi.fn();
    const a = api();
    render(ServiceSection, { props: { api: a, onservice } });
    const sandboxChoice = (await screen.findByTestId("service-sandbox")) as HTMLInputElement;
    await waitFor(() => expect(sandboxChoice.checked).toBe(true));
    await fireEvent.click(screen.getByTestId("service-external"));
    const address = screen.getByTestId("service-url") as HTMLInputElement;
    await fireEvent.input(address, { target: { value: "https://nope.example" } });
    await fireEvent.click(screen.getByTestId("service-check"));
    expect((await screen.findByTestId("service-error")).textContent).toContain("Can't reach");
    await fireEvent.input(address, { target: { value: "https://refill.example.com/" } });
    expect(screen.queryByTestId("service-error")).toBeNull();
    await fireEvent.click(screen.getByTestId("service-check"));
    expect((await screen.findByTestId("service-checked")).textContent).toContain("A Refill service 0.1.0 answers at https://refill.example.com.");
    await fireEvent.click(screen.getByTestId("service-use"));
    expect((await screen.findByTestId("service-done")).textContent).toContain("now uses the service at https://refill.example.com/");
    expect(a.chooseService).toHaveBeenCalledWith("https://refill.example.com/");
    expect(onservice).toHaveBeenCalled();
  });

  it("goes back to the sandbox, and says when a launch flag keeps another service", async () => {
    const a = api({
      serviceInfo: vi.fn(async () => ({ kind: "external", url: "https://refill.example.com", fixed: true }) as ServiceInfo),
      chooseService: vi.fn(async () => ({ kind: "external", url: "https://refill.example.com", fixed: true }) as ServiceInfo),
    });
    render(ServiceSection, { props: { api: a } });
    expect((await screen.findByTestId("service-fixed")).textContent).toContain("--service or REFILL_SERVICE_URL");
    await waitFor(() => expect((screen.getByTestId("service-url") as HTMLInputElement).value).toBe("https://refill.example.com"));
    await fireEvent.click(screen.getByTestId("service-sandbox"));
    await fireEvent.click(screen.getByTestId("service-use"));
    expect(a.chooseService).toHaveBeenCalledWith(null);
    expect((await screen.findByTestId("service-done")).textContent).toContain("when it starts without it");
  });
});
