import { mount } from "svelte";
import App from "./App.svelte";
import { listen } from "@tauri-apps/api/event";
import { commands, type Notice } from "./lib/bindings";
import type { AppEvents } from "./lib/api";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");
const events: AppEvents = {
  onNotice: (handler) => void listen<Notice>("notice", (e) => handler(e.payload)),
  onOpenInbox: (handler) => void listen("open-inbox", () => handler()),
};
mount(App, { target, props: { api: commands, events } });

// Tell the app the first frame is painted (logged, and timed by `cargo xtask bench`).
requestAnimationFrame(() => {
  void commands.uiReady();
});
