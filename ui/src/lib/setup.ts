// The device setup wizard's steps and small helpers, kept apart from the component to test them.

/** Where the wizard is. */
export type Step = "intro" | "scan" | "softap" | "trust" | "wifi" | "password" | "joining" | "linking" | "done";

/** The named steps the person sees, in order, and the wizard steps each covers. */
export const STEPS: { key: string; label: string; covers: Step[] }[] = [
  { key: "find", label: "Find", covers: ["intro", "scan", "softap"] },
  { key: "trust", label: "Prove it's yours", covers: ["trust"] },
  { key: "wifi", label: "Choose Wi-Fi", covers: ["wifi", "password"] },
  { key: "join", label: "Join Wi-Fi", covers: ["joining"] },
  { key: "link", label: "Link to your account", covers: ["linking"] },
  { key: "done", label: "Done", covers: ["done"] },
];

/** Whether a named step is done, current or still to come while the wizard is at `at`. */
export function stepState(key: string, at: Step): "done" | "current" | "todo" {
  const current = STEPS.findIndex((s) => s.covers.includes(at));
  const index = STEPS.findIndex((s) => s.key === key);
  if (index < current || (at === "done" && index === current)) return "done";
  return index === current ? "current" : "todo";
}

/** Signal bars (0 to 4) for a strength in dBm. */
export function signalBars(rssi: number | null): number {
  if (rssi === null) return 0;
  if (rssi >= -55) return 4;
  if (rssi >= -67) return 3;
  if (rssi >= -78) return 2;
  return 1;
}
