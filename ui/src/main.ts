import { mount } from "svelte";
import App from "./App.svelte";
import { commands } from "./lib/bindings";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");
mount(App, { target, props: { api: commands } });

// Tell the app the first frame is painted (logged, and timed by `cargo xtask bench`).
requestAnimationFrame(() => {
  void commands.uiReady();
});
