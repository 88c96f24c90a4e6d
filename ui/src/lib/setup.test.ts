import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import SetUpDevice from "./SetUpDevice.svelte";
import type { Api } from "./api";
import { aLinkedDevice, anError, wizardApi } from "./fixtures";
import { signalBars, stepState } from "./setup";

afterEach(cleanup);

function wizard(over: Partial<ReturnType<typeof wizardApi>> = {}) {
  const api = { ...wizardApi(), ...over } as unknown as Api;
  const ondone = vi.fn();
  const onclose = vi.fn();
  render(SetUpDevice, { props: { api, ondone, onclose } });
  return { api, ondone, onclose };
}

async function toWifi() {
  await fireEvent.click(screen.getByTestId("setup-start"));
  await fireEvent.click(await screen.findByTestId("found-PROV_A"));
  await fireEvent.input(await screen.findByTestId("pop"), { target: { value: "abcd1234" } });
  await fireEvent.click(screen.getByTestId("secure"));
  await screen.findByTestId("networks");
}

describe("the device setup wizard", () => {
  it("explains Bluetooth first, then lists devices with their protocol and signal", async () => {
    wizard();
    expect(screen.getByTestId("why-bluetooth").textContent).toContain("Bluetooth");
    await fireEvent.click(screen.getByTestId("setup-start"));
    const first = await screen.findByTestId("found-PROV_A");
    expect(first.textContent).toContain("ESP");
    expect(screen.getByTestId("found-PROV_B").textContent).toContain("Improv");
    expect(screen.getByTestId("step-find").classList.contains("current")).toBe(true);
    expect(screen.queryByTestId("sandbox-PROV_A")).toBeNull();
    expect(screen.queryByTestId("no-bluetooth")).toBeNull();
  });

  it("reaches a device through the Wi-Fi network it made, at the address it shows", async () => {
    let calls = 0;
    const { api } = wizard({
      onboardingOpenSoftap: vi.fn(async (address: string | null) => {
        calls += 1;
        if (calls === 1) throw anError("device_unreachable", `Nothing answered at http://${address}.`);
        return { name: `The device at ${address}`, trust: "proofOfPossession" as const, canIdentify: false, sandbox: false };
      }),
    });
    await fireEvent.click(screen.getByTestId("setup-start"));
    await fireEvent.click(await screen.findByTestId("softap-start"));
    await fireEvent.input(screen.getByTestId("softap-address"), { target: { value: " 10.0.0.9 " } });
    await fireEvent.click(screen.getByTestId("softap-connect"));
    // Not reached: said, and the address stays to be corrected or tried again.
    expect((await screen.findByTestId("setup-error")).textContent).toContain("Nothing answered");
    expect((screen.getByTestId("softap-address") as HTMLInputElement).value).toBe(" 10.0.0.9 ");
    await fireEvent.click(screen.getByTestId("softap-connect"));
    expect(await screen.findByText("The device at 10.0.0.9")).toBeTruthy();
    expect(screen.getByTestId("pop")).toBeTruthy();
    expect(api.onboardingOpenSoftap).toHaveBeenLastCalledWith("10.0.0.9");
    expect(api.onboardingOpen).not.toHaveBeenCalled();
  });

  it("marks the sandbox's devices and says once why no real ones are listed", async () => {
    const { api } = wizard({
      onboardingScan: vi.fn(async () => ({
        devices: [
          { id: "PROV_S", name: "PROV_S", rssi: -48, protocol: "esp" as const, sandbox: true, sandboxLabel: '{"pop":"1"}' },
        ],
        bluetooth: "Refill cannot use Bluetooth: no Bluetooth adapter was found. Until then, only the sandbox's simulated devices are listed.",
      })),
    });
    await fireEvent.click(screen.getByTestId("setup-start"));
    expect((await screen.findByTestId("sandbox-PROV_S")).textContent).toBe("Sandbox");
    expect(screen.getByTestId("label-PROV_S").textContent).toContain("pop");
    // Scanned again and again, it is said in one line, not as an error.
    await waitFor(() => expect(api.onboardingScan).toHaveBeenCalledTimes(2), { timeout: 4000 });
    expect(screen.getAllByText(/no Bluetooth adapter/)).toHaveLength(1);
    expect(screen.queryByTestId("setup-error")).toBeNull();
  });

  it("keeps the session through a refused code and a wrong password, then links the device", async () => {
    let secureCalls = 0;
    let joinCalls = 0;
    const { api, ondone } = wizard({
      onboardingSecure: vi.fn(async () => {
        secureCalls += 1;
        if (secureCalls === 1) throw anError("device_refused", "The device did not accept the proof of possession.");
        return { networks: [{ ssid: "Refill Home", rssi: -42, secured: true, remembered: false }], more: true };
      }),
      onboardingJoin: vi.fn(async (ssid: string) => {
        joinCalls += 1;
        if (joinCalls === 1) throw anError("wifi_wrong_password", "The password is wrong. Type it again.");
        return { ssid, ip: "192.168.1.20" };
      }),
    });
    await fireEvent.click(screen.getByTestId("setup-start"));
    await fireEvent.click(await screen.findByTestId("found-PROV_A"));
    await fireEvent.input(await screen.findByTestId("pop"), { target: { value: "wrong" } });
    await fireEvent.click(screen.getByTestId("secure"));
    expect((await screen.findByTestId("setup-error")).dataset.code).toBe("device_refused");
    await fireEvent.input(screen.getByTestId("pop"), { target: { value: "abcd1234" } });
    await fireEvent.click(screen.getByTestId("secure"));
    await fireEvent.click(await screen.findByTestId("network-Refill Home"));

    await fireEvent.input(await screen.findByTestId("password"), { target: { value: "nope" } });
    await fireEvent.click(screen.getByTestId("join"));
    expect((await screen.findByTestId("setup-error")).dataset.code).toBe("wifi_wrong_password");
    // Back at the password, in the same session.
    await fireEvent.input(await screen.findByTestId("password"), { target: { value: "right" } });
    await fireEvent.click(screen.getByTestId("remember"));
    await fireEvent.click(screen.getByTestId("join"));
    expect((await screen.findByTestId("setup-done")).textContent).toContain("Brewmaster 200 coffee maker");
    expect(screen.getByTestId("setup-slots").textContent).toContain("nothing chosen");
    expect(api.onboardingOpen).toHaveBeenCalledTimes(1);
    expect(api.onboardingJoin).toHaveBeenLastCalledWith("Refill Home", "right", true);
    expect(ondone).toHaveBeenCalledWith(aLinkedDevice);
  });

  it("waits for an Improv device's button, with Identify and the sandbox's button meanwhile", async () => {
    let press: () => void = () => {};
    const pressed = new Promise<void>((resolve) => (press = resolve));
    let waits = 0;
    const { api } = wizard({
      onboardingOpen: vi.fn(async () => ({ name: "PROV_B", trust: "buttonPress" as const, canIdentify: true, sandbox: true })),
      onboardingSecure: vi.fn(async () => {
        waits += 1;
        if (waits === 1) throw anError("device_refused", "Nobody pressed the button on PROV_B in time.");
        await pressed;
        return { networks: [{ ssid: "Refill Home", rssi: -42, secured: true, remembered: false }], more: false };
      }),
      onboardingPressButton: vi.fn(async () => {
        press();
        return null;
      }),
    });
    await fireEvent.click(screen.getByTestId("setup-start"));
    await fireEvent.click(await screen.findByTestId("found-PROV_B"));
    // The first wait ran out: said in words, and Continue waits again.
    expect((await screen.findByTestId("setup-error")).textContent).toContain("in time");
    expect(screen.getByTestId("press-the-button").textContent).toContain("PROV_B");
    expect(screen.queryByTestId("pop")).toBeNull();
    await fireEvent.click(screen.getByTestId("secure"));
    expect((await screen.findByTestId("setup-working")).textContent).toContain("Waiting for the button");
    await fireEvent.click(screen.getByTestId("identify"));
    expect(api.onboardingIdentify).toHaveBeenCalledTimes(1);
    expect((await screen.findByTestId("setup-notice")).textContent).toContain("PROV_B should blink");
    await fireEvent.click(screen.getByTestId("sandbox-press"));
    await screen.findByTestId("network-Refill Home");
    expect(api.onboardingSecure).toHaveBeenCalledWith({ qr: null, pop: null, username: null });
  });

  it("reads more networks on request and takes a hidden network by name", async () => {
    const { api } = wizard();
    await toWifi();
    await fireEvent.click(screen.getByTestId("more-networks"));
    await waitFor(() => expect(screen.queryByTestId("more-networks")).toBeNull());
    await fireEvent.click(screen.getByTestId("other-network"));
    await fireEvent.input(await screen.findByTestId("ssid"), { target: { value: "Hidden Net" } });
    await fireEvent.input(screen.getByTestId("password"), { target: { value: "pw" } });
    await fireEvent.click(screen.getByTestId("join"));
    await screen.findByTestId("setup-done");
    expect(api.onboardingJoin).toHaveBeenCalledWith("Hidden Net", "pw", false);
  });

  it("uses a remembered password without asking for it, and joins open networks without one", async () => {
    const { api } = wizard({
      onboardingSecure: vi.fn(async () => ({
        networks: [
          { ssid: "Refill Home", rssi: -42, secured: true, remembered: true },
          { ssid: "Guest", rssi: -80, secured: false, remembered: false },
        ],
        more: false,
      })),
    });
    await toWifi();
    expect(screen.getByTestId("network-Refill Home").textContent).toContain("remembered");
    await fireEvent.click(screen.getByTestId("network-Refill Home"));
    expect(screen.queryByTestId("password")).toBeNull();
    await fireEvent.click(screen.getByTestId("join"));
    await screen.findByTestId("setup-done");
    expect(api.onboardingJoin).toHaveBeenCalledWith("Refill Home", null, false);
  });

  it("offers to link again when the consent page was declined", async () => {
    let links = 0;
    wizard({
      onboardingFinishLink: vi.fn(async () => {
        links += 1;
        if (links === 1) throw anError("device_link_failed", "The device was not linked: it was declined.");
        return aLinkedDevice;
      }),
    });
    await toWifi();
    await fireEvent.click(screen.getByTestId("network-Guest"));
    await fireEvent.click(screen.getByTestId("join"));
    await fireEvent.click(await screen.findByTestId("link-again"));
    await screen.findByTestId("setup-done");
  });

  it("closing cancels the setup on the device", async () => {
    const { api, onclose } = wizard();
    await fireEvent.click(screen.getByTestId("setup-close"));
    expect(api.onboardingCancel).toHaveBeenCalled();
    expect(onclose).toHaveBeenCalled();
  });
});

describe("the wizard's helpers", () => {
  it("marks the steps before the current one done", () => {
    expect(stepState("find", "wifi")).toBe("done");
    expect(stepState("wifi", "password")).toBe("current");
    expect(stepState("link", "wifi")).toBe("todo");
    expect(stepState("done", "done")).toBe("done");
  });

  it("turns dBm into signal bars", () => {
    expect(signalBars(-40)).toBe(4);
    expect(signalBars(-60)).toBe(3);
    expect(signalBars(-75)).toBe(2);
    expect(signalBars(-90)).toBe(1);
    expect(signalBars(null)).toBe(0);
  });
});
