import type { AppError, commands } from "./bindings";

/** The commands of the device setup wizard and the device list. */
export type DeviceCommand =
  | "onboardingScan"
  | "onboardingOpen"
  | "onboardingIdentify"
  | "onboardingPressButton"
  | "onboardingSecure"
  | "onboardingMoreNetworks"
  | "onboardingJoin"
  | "onboardingLink"
  | "onboardingFinishLink"
  | "onboardingCancel"
  | "listDevices";

/** What the UI needs from the app: the generated commands (tests pass a fake). */
export type Api = Pick<
  typeof commands,
  | "listButtons"
  | "pressButton"
  | "cancelOrder"
  | "account"
  | "startSignIn"
  | "finishSignIn"
  | "cancelSignIn"
  | "signOut"
  | DeviceCommand
>;

/** The error a command rejected with, whatever shape it came in. */
export function asAppError(e: unknown): AppError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    return e as AppError;
  }
  return {
    code: "internal",
    message: `Something went wrong inside Refill: ${String(e)}`,
  };
}
