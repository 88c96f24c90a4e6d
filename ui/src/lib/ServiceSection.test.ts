import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import ServiceSection from "./ServiceSection.svelte";
import type { Api } from "./api";
import type { ServiceInfo } from "./bindings";

afterEach(cleanup);

const sandbox: ServiceInfo = { kind: "embedded", url: "http://127.0.0.1:41000", fixed: false, fingerprint: null };

function api(over: Partial<Api> = {}): Api {
  return {
    serviceInfo: vi.fn(async () => sandbox),
    checkService: vi.fn(async (url: string) => {
      if (url.includes("nope")) throw { code: "service_unreachable", message: `Can't reach the Refill service at ${url}.` };
      return { url: url.replace(/\/$/, ""), version: "0.1.0", sandbox: false, fingerprint: null };
    }),
    chooseService: vi.fn(async (url: string | null) => ({ kind: url ? "external" : "embedded", url, fixed: false, fingerprint: null }) as ServiceInfo),
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
    expect(a.chooseService).toHaveBeenCalledWith("https://refill.example.com/", null);
    expect(onservice).toHaveBeenCalled();
  });

  it("goes back to the sandbox, and says when a launch flag keeps another service", async () => {
    const a = api({
      serviceInfo: vi.fn(async () => ({ kind: "external", url: "https://refill.example.com", fixed: true, fingerprint: null }) as ServiceInfo),
      chooseService: vi.fn(async () => ({ kind: "external", url: "https://refill.example.com", fixed: true, fingerprint: null }) as ServiceInfo),
    });
    render(ServiceSection, { props: { api: a } });
    expect((await screen.findByTestId("service-fixed")).textContent).toContain("--service or REFILL_SERVICE_URL");
    await waitFor(() => expect((screen.getByTestId("service-url") as HTMLInputElement).value).toBe("https://refill.example.com"));
    await fireEvent.click(screen.getByTestId("service-sandbox"));
    await fireEvent.click(screen.getByTestId("service-use"));
    expect(a.chooseService).toHaveBeenCalledWith(null, null);
    expect((await screen.findByTestId("service-done")).textContent).toContain("when it starts without it");
  });

  it("shows a home server's own certificate's fingerprint and uses the service only once it is trusted", async () => {
    const fingerprint = "3F:A2:" + "00:".repeat(29) + "9C";
    const onservice = vi.fn();
    const a = api({
      checkService: vi.fn(async (url: string) => ({ url, version: "0.1.0", sandbox: false, fingerprint })),
      chooseService: vi.fn(async (url: string | null, given: string | null) => {
        if (!given) throw { code: "certificate_untrusted", message: `no authority vouches for it: ${fingerprint}` };
        return { kind: "external", url, fixed: false, fingerprint: given } as ServiceInfo;
      }),
    });
    render(ServiceSection, { props: { api: a, onservice } });
    await fireEvent.click(await screen.findByTestId("service-external"));
    await fireEvent.input(screen.getByTestId("service-url"), { target: { value: "https://192.168.1.20:8750" } });
    // "Use" straight away: asked, not refused.
    await fireEvent.click(screen.getByTestId("service-use"));
    expect((await screen.findByTestId("service-fingerprint")).textContent).toBe(fingerprint);
    expect(screen.queryByTestId("service-error")).toBeNull();
    expect(onservice).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId("service-trust-use"));
    await waitFor(() => expect(a.chooseService).toHaveBeenLastCalledWith("https://192.168.1.20:8750", fingerprint));
    expect((await screen.findByTestId("service-done")).textContent).toContain("now uses the service at https://192.168.1.20:8750");
    expect((await screen.findByTestId("service-trusted")).textContent).toContain(fingerprint);
    expect(onservice).toHaveBeenCalled();
  });

  it("says in words when the certificate is not the one trusted", async () => {
    const a = api({
      chooseService: vi.fn(async () => {
        throw { code: "certificate_changed", message: "presented a different certificate" };
      }),
    });
    render(ServiceSection, { props: { api: a } });
    await fireEvent.click(await screen.findByTestId("service-external"));
    await fireEvent.input(screen.getByTestId("service-url"), { target: { value: "https://home.local:8750" } });
    await fireEvent.click(screen.getByTestId("service-use"));
    expect((await screen.findByTestId("service-error")).textContent).toContain("different certificate");
    expect(screen.queryByTestId("service-trust")).toBeNull();
  });

  it("lists the Refill services on this network and checks the one picked, warning when it presents another certificate than it announced", async () => {
    const announced = "AA:" + "00:".repeat(30) + "AA";
    const presented = "BB:" + "00:".repeat(30) + "BB";
    const a = api({
      discoverServices: vi.fn(async () => [
        { name: "Refill on nas", url: "https://192.168.1.20:8750", fingerprint: announced, version: "0.1.0" },
      ]),
      checkService: vi.fn(async (url: string) => ({ url, version: "0.1.0", sandbox: false, fingerprint: presented })),
    });
    render(ServiceSection, { props: { api: a } });
    await fireEvent.click(await screen.findByTestId("service-look"));
    const item = await screen.findByTestId("service-found-item");
    expect(item.textContent).toContain("Refill on nas");
    expect(screen.getByTestId("service-found").textContent).toContain("https://192.168.1.20:8750");
    await fireEvent.click(item);
    await waitFor(() => expect(a.checkService).toHaveBeenCalledWith("https://192.168.1.20:8750"));
    expect((screen.getByTestId("service-url") as HTMLInputElement).value).toBe("https://192.168.1.20:8750");
    expect((await screen.findByTestId("service-fingerprint")).textContent).toBe(presented);
    expect(screen.getByTestId("service-announced-other").textContent).toContain(announced);
  });

  it("says when no service announced itself", async () => {
    const a = api({ discoverServices: vi.fn(async () => []) });
    render(ServiceSection, { props: { api: a } });
    await fireEvent.click(await screen.findByTestId("service-look"));
    expect((await screen.findByTestId("service-none-found")).textContent).toContain("Type its address");
  });
});
