// src/api.ts
var e = class extends Error {
	status;
	code;
	constructor(e, t, n) {
		super(e), this.status = t, this.code = n, this.name = "RefillError";
	}
	get offline() {
		return this.status === 0;
	}
	get unlinked() {
		return this.status === 401 || this.status === 403;
	}
}, t = class {
	token;
	fetcher;
	base;
	constructor(e, t, n = (...e) => fetch(...e)) {
		this.token = t, this.fetcher = n, this.base = e.replace(/\/+$/, "");
	}
	url(e) {
		return /^[a-z]+:/i.test(e) ? e : this.base + e;
	}
	buttons() {
		return this.json("/v1/screen/buttons", { method: "GET" });
	}
	press(e, t) {
		return this.json(`/v1/screen/buttons/${encodeURIComponent(e)}/press`, {
			method: "POST",
			headers: { "Idempotency-Key": t }
		});
	}
	cancel(e) {
		return this.json(`/v1/screen/orders/${encodeURIComponent(e)}/cancel`, { method: "POST" });
	}
	async follow(t, i, a) {
		let o = await this.call(`/v1/screen/events/stream?after=${t}`, {
			method: "GET",
			headers: { Accept: "text/event-stream" },
			signal: a
		});
		if (!o.body) throw new e("The event stream has no body.", 0);
		let s = t, c = o.body.pipeThrough(new TextDecoderStream()).getReader(), l = new r();
		try {
			for (;;) {
				let { value: e, done: t } = await c.read();
				if (t) return s;
				for (let t of l.push(e)) s = Math.max(s, t.id), i(t);
			}
		} catch (e) {
			if (a.aborted) return s;
			throw n(e);
		} finally {
			c.releaseLock();
		}
	}
	async json(e, t) {
		return await (await this.call(e, t)).json();
	}
	async call(t, n) {
		let r = await this.send(t, n, !1);
		if (r.status === 401 && (r = await this.send(t, n, !0)), r.ok) return r;
		let i = `The Refill service answered ${r.status}.`, a;
		try {
			let e = await r.json();
			e.message && (i = e.message), a = e.code;
		} catch {}
		throw new e(i, r.status, a);
	}
	async send(t, r, i) {
		let a;
		try {
			a = await this.token(i);
		} catch (t) {
			throw new e(`This device has no Refill token: ${t instanceof Error ? t.message : String(t)}`, 401);
		}
		let o = new Headers(r.headers);
		o.set("Authorization", `Bearer ${a}`);
		try {
			return await this.fetcher(this.url(t), {
				...r,
				headers: o
			});
		} catch (e) {
			throw r.signal?.aborted ? e : n(e);
		}
	}
};
function n(t) {
	return t instanceof e ? t : new e("Cannot reach Refill. Check the device's connection.", 0);
}
var r = class {
	buffer = "";
	push(e) {
		this.buffer += e.replace(/\r\n?/g, "\n");
		let t = [], n;
		for (; (n = this.buffer.indexOf("\n\n")) >= 0;) {
			let e = this.buffer.slice(0, n);
			this.buffer = this.buffer.slice(n + 2);
			let r, i = "message", a = [];
			for (let t of e.split("\n")) {
				if (t.startsWith(":")) continue;
				let e = t.indexOf(":"), n = e < 0 ? t : t.slice(0, e), o = e < 0 ? "" : t.slice(e + 1).replace(/^ /, "");
				n === "id" ? r = Number(o) : n === "event" ? i = o : n === "data" && a.push(o);
			}
			if (r === void 0 || !Number.isFinite(r) || a.length === 0) continue;
			let o = {};
			try {
				o = JSON.parse(a.join("\n")).body ?? {};
			} catch {
				continue;
			}
			t.push({
				id: r,
				kind: i,
				body: o
			});
		}
		return t;
	}
}, i = 3, a = "\n:host{display:block;font-family:var(--refill-font,system-ui,sans-serif);font-size:var(--refill-font-size,1.125rem);\ncolor:var(--refill-fg,#1b1f24);background:var(--refill-bg,transparent);line-height:1.35}\n[hidden]{display:none!important}\n.banner{margin:0 0 var(--refill-gap,.75rem);padding:.75rem 1rem;border-radius:var(--refill-radius,.75rem);\nbackground:var(--refill-warn-bg,#fff4d6);color:var(--refill-warn-fg,#5c3d00);font-weight:600}\nul{list-style:none;margin:0;padding:0;display:grid;gap:var(--refill-gap,.75rem);\ngrid-template-columns:repeat(auto-fill,minmax(var(--refill-tile-min,9.5rem),1fr))}\nli{display:flex;flex-direction:column;gap:.4rem;padding:.6rem;border-radius:var(--refill-radius,.75rem);\nbackground:var(--refill-tile-bg,#f3f5f7);border:2px solid transparent}\nli[data-state=pending]{border-color:var(--refill-pending,#b76e00)}\nli[data-state=ordered],li[data-state=shipped]{border-color:var(--refill-ok,#1f7a3a)}\nli[data-state=declined],li[data-state=expired],li[data-state=refused],li[data-state=failed]{border-color:var(--refill-error,#b3261e)}\nbutton{font:inherit;color:inherit;min-height:44px;min-width:44px;border-radius:calc(var(--refill-radius,.75rem) - .25rem);cursor:pointer}\nbutton:focus-visible{outline:3px solid var(--refill-focus,#0b57d0);outline-offset:2px}\n.press{display:flex;flex-direction:column;align-items:center;gap:.35rem;padding:.6rem;border:0;\nbackground:var(--refill-accent,#0b57d0);color:var(--refill-accent-fg,#fff);text-align:center}\n.press[aria-disabled=true]{background:var(--refill-muted,#d9dde1);color:var(--refill-fg,#1b1f24);cursor:default}\n.press img{width:3.5rem;height:3.5rem;object-fit:contain;background:#fff;border-radius:.5rem}\n.title{font-weight:700}\n.price{font-size:.95em}\n.status{margin:0;min-height:1.35em;font-size:.95em}\n.cancel{border:2px solid currentColor;background:transparent;padding:.25rem .75rem}\n@media (prefers-reduced-motion:no-preference){li[data-state=pressing] .press{animation:refill-pulse 1s ease-in-out infinite alternate}}\n@keyframes refill-pulse{to{opacity:.6}}\n";
function o() {
	return typeof crypto < "u" && "randomUUID" in crypto ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
function s(e) {
	return new Promise((t) => setTimeout(t, e));
}
var c = class extends HTMLElement {
	static observedAttributes = [
		"service",
		"token-url",
		"heading"
	];
	tokenProvider = null;
	status = "idle";
	root;
	banner;
	heading;
	list;
	api = null;
	buttons = [];
	tiles = /* @__PURE__ */ new Map();
	local = /* @__PURE__ */ new Map();
	mine = /* @__PURE__ */ new Set();
	lastEventId = 0;
	running = null;
	reloading = null;
	scheduled = !1;
	deviceName = "";
	marked = !1;
	changes = 0;
	constructor() {
		super(), this.root = this.attachShadow({ mode: "open" });
		let e = document.createElement("style");
		e.textContent = a, this.heading = document.createElement("h2"), this.heading.setAttribute("part", "heading"), this.banner = document.createElement("p"), this.banner.className = "banner", this.banner.setAttribute("part", "banner"), this.banner.setAttribute("role", "alert"), this.banner.hidden = !0, this.list = document.createElement("ul"), this.list.setAttribute("part", "grid"), this.root.append(e, this.heading, this.banner, this.list);
	}
	connectedCallback() {
		this.schedule();
	}
	disconnectedCallback() {
		this.stop();
	}
	attributeChangedCallback(e) {
		e === "heading" ? this.drawHeading(this.deviceName) : this.schedule();
	}
	refresh() {
		this.schedule();
	}
	schedule() {
		this.scheduled || (this.scheduled = !0, queueMicrotask(() => {
			this.scheduled = !1, this.isConnected && this.start();
		}));
	}
	start() {
		this.stop();
		let e = this.getAttribute("service"), n = this.tokenProvider ?? this.tokenFromUrl();
		if (!e || !n) return;
		this.api = new t(e, n);
		let r = new AbortController();
		this.running = r, this.setStatus("loading", ""), this.run(r.signal);
	}
	stop() {
		this.running?.abort(), this.running = null, this.reloading && clearTimeout(this.reloading), this.reloading = null;
	}
	tokenFromUrl() {
		let e = this.getAttribute("token-url");
		return e ? async (t) => {
			let n = await fetch(e, {
				method: "POST",
				headers: { "Content-Type": "application/json" },
				body: JSON.stringify({ renew: t })
			});
			if (!n.ok) throw Error(`the device's token page answered ${n.status}`);
			let r = await n.json();
			if (!r.accessToken) throw Error("the device is not linked to Refill");
			return r.accessToken;
		} : null;
	}
	async run(e) {
		let t = 0;
		for (; !e.aborted;) {
			try {
				await this.load(), t = 0, this.lastEventId = await this.api.follow(this.lastEventId, (e) => this.seen(e), e);
			} catch (n) {
				if (e.aborted || !this.failed(n)) return;
				t += 1;
			}
			if (e.aborted) return;
			await s(Math.min(3e4, 500 * 2 ** Math.min(t, 6)));
		}
	}
	failed(t) {
		let n = t instanceof e ? t : new e(String(t), 0);
		return n.unlinked ? (this.setStatus("unlinked", "This device is not linked to Refill any more. Link it again in the Refill app."), !1) : (n.offline ? this.setStatus("offline", "Offline: Refill cannot be reached. The buttons work again when the connection is back.") : this.setStatus("offline", n.message), !0);
	}
	async load() {
		let e = this.changes, t = await this.api.buttons();
		this.changes === e ? (this.buttons = t.buttons, this.lastEventId = Math.max(this.lastEventId, t.lastEventId), this.drawHeading(t.deviceName), this.setStatus("ready", ""), this.draw(), !this.marked && typeof performance < "u" && performance.mark && (this.marked = !0, performance.mark("refill-buttons:ready"))) : this.reload();
	}
	reload() {
		this.reloading ||= setTimeout(() => {
			this.reloading = null, this.load().catch((e) => this.failed(e));
		}, 50);
	}
	seen(e) {
		let t = typeof e.body.asin == "string" ? e.body.asin : null, n = e.body.eventInstanceId;
		if (t && this.local.get(t)?.state !== "pressing") switch (e.kind) {
			case "ApprovalDecided": {
				let r = e.body.status;
				r === "declined" || r === "expired" ? this.local.set(t, { state: r }) : this.local.delete(t), r === "approved" && typeof n == "string" && this.mine.add(n);
				break;
			}
			case "ItemDelivered":
				this.local.set(t, { state: "delivered" });
				break;
			case "OrderCancelled":
				this.local.set(t, { state: "cancelled" });
				break;
			case "OrderPlaced":
			case "ApprovalRequested": this.local.delete(t);
		}
		this.reload();
	}
	async press(t) {
		let n = this.buttons.find((e) => e.asin === t);
		if (!n || !this.api || this.status !== "ready" || this.busy(n)) return;
		this.local.set(t, { state: "pressing" }), this.draw();
		let r = o();
		for (let a = 1;; a++) try {
			let e = await this.api.press(t, r);
			this.changes += 1;
			let i = this.buttons.find((e) => e.asin === t) ?? n;
			this.local.delete(t), e.approval && e.approval.status === "pending" && (i.pendingApproval = e.approval), e.order && (i.openOrder = e.order, e.detailCode !== "ORDER_INPROGRESS" && this.mine.add(e.order.eventInstanceId));
			break;
		} catch (n) {
			let r = n instanceof e ? n : new e(String(n), 0);
			if (r.offline && a < i) {
				await s(300 * a);
				continue;
			}
			r.unlinked && this.failed(r), this.local.set(t, {
				state: r.code === "over_limit" ? "refused" : "failed",
				message: r.offline ? "Not ordered: Refill cannot be reached. Try again." : r.message
			});
			break;
		}
		this.draw();
	}
	async cancel(t) {
		let n = this.buttons.find((e) => e.asin === t)?.openOrder;
		if (n && this.api) {
			try {
				await this.api.cancel(n.eventInstanceId), this.changes += 1, this.local.set(t, { state: "cancelled" });
				let e = this.buttons.find((e) => e.asin === t);
				e && (e.openOrder = null);
			} catch (n) {
				let r = n instanceof e ? n : new e(String(n), 0);
				this.local.set(t, {
					state: "failed",
					message: `Not cancelled: ${r.message}`
				});
			}
			this.draw();
		}
	}
	stateOf(e) {
		let t = this.buttons.find((t) => t.asin === e);
		return t ? this.tileState(t) : "idle";
	}
	busy(e) {
		return [
			"pressing",
			"pending",
			"ordered",
			"shipped"
		].includes(this.tileState(e));
	}
	tileState(e) {
		let t = this.local.get(e.asin);
		return t?.state === "pressing" ? "pressing" : e.pendingApproval ? "pending" : e.openOrder?.status === "placed" ? "ordered" : e.openOrder?.status === "shipped" ? "shipped" : t?.state ?? "idle";
	}
	setStatus(e, t) {
		this.status = e, this.banner.textContent = t, this.banner.hidden = !t, this.setAttribute("status", e), e !== "loading" && this.draw();
	}
	drawHeading(e) {
		this.deviceName = e;
		let t = this.getAttribute("heading") ?? (e ? `Reorder for your ${e}` : "Reorder");
		this.heading.textContent = t, this.heading.hidden = t === "";
	}
	draw() {
		this.buttons.map((e) => e.asin).join() !== [...this.tiles.keys()].join() && (this.tiles.clear(), this.list.replaceChildren(...this.buttons.map((e) => this.tile(e).item)));
		for (let e of this.buttons) this.drawTile(e);
	}
	tile(e) {
		let t = document.createElement("li");
		t.setAttribute("part", "tile");
		let n = document.createElement("button");
		if (n.type = "button", n.className = "press", n.setAttribute("part", "press"), e.imageUrl && this.api) {
			let t = document.createElement("img");
			t.src = this.api.url(e.imageUrl), t.alt = "", t.loading = "lazy", n.append(t);
		}
		let r = document.createElement("span");
		r.className = "title", r.textContent = e.title;
		let i = document.createElement("span");
		i.className = "price", n.append(r, i);
		let a = document.createElement("p");
		a.className = "status", a.setAttribute("part", "status"), a.id = `refill-status-${e.asin}`, a.setAttribute("role", "status"), n.setAttribute("aria-describedby", a.id);
		let o = document.createElement("button");
		o.type = "button", o.className = "cancel", o.setAttribute("part", "cancel"), o.textContent = "Cancel order", o.setAttribute("aria-label", `Cancel the order of ${e.title}`), n.addEventListener("click", () => void this.press(e.asin)), o.addEventListener("click", () => void this.cancel(e.asin)), t.append(n, a, o);
		let s = {
			item: t,
			press: n,
			status: a,
			cancel: o
		};
		return this.tiles.set(e.asin, s), s;
	}
	drawTile(e) {
		let t = this.tiles.get(e.asin);
		if (!t) return;
		let n = this.tileState(e), r = this.money(e.price.amountMinor, e.price.currency);
		t.item.dataset.state = n, t.press.querySelector(".price").textContent = `${r} · ${this.pack(e)}`;
		let i = this.status !== "ready" || this.busy(e);
		t.press.setAttribute("aria-disabled", String(i)), t.press.setAttribute("aria-label", `${e.needsApproval ? "Ask for" : "Order"} ${e.title}, ${r}`);
		let a = this.statusText(e, n);
		t.status.textContent !== a && (t.status.textContent = a);
		let o = e.openOrder;
		t.cancel.hidden = !(o && n === "ordered" && this.mine.has(o.eventInstanceId) && o.cancellableUntil !== null && Date.parse(o.cancellableUntil) > Date.now());
	}
	statusText(e, t) {
		let n = this.local.get(e.asin), r = e.openOrder ? `arrives ${this.day(e.openOrder.expectedDelivery)}` : "";
		switch (t) {
			case "pressing": return e.needsApproval ? "Asking…" : "Ordering…";
			case "pending": return "Approval needed: waiting for an answer in the Refill app.";
			case "ordered": return `Ordered, ${r}.`;
			case "shipped": return `On its way, ${r}.`;
			case "declined": return "Declined in the Refill app: nothing was ordered.";
			case "expired": return "Not approved in time: nothing was ordered.";
			case "delivered": return "Arrived.";
			case "cancelled": return "Order cancelled.";
			case "refused":
			case "failed": return n?.message ?? "Not ordered.";
			case "idle": return e.needsApproval ? "Asks first in the Refill app." : "";
		}
	}
	locale() {
		return this.closest("[lang]")?.getAttribute("lang") || void 0;
	}
	money(e, t) {
		try {
			let n = new Intl.NumberFormat(this.locale(), {
				style: "currency",
				currency: t
			}), r = n.resolvedOptions().maximumFractionDigits ?? 2;
			return n.format(e / 10 ** r);
		} catch {
			return `${(e / 100).toFixed(2)} ${t}`;
		}
	}
	pack(e) {
		let { value: t, unit: n } = e.pack;
		return n === "count" ? `${t} ${t === 1 ? "piece" : "pieces"}` : n === "g" ? t >= 1e3 ? `${t / 1e3} kg` : `${t} g` : t >= 1e3 ? `${t / 1e3} l` : `${t} ml`;
	}
	day(e) {
		return new Intl.DateTimeFormat(this.locale(), {
			weekday: "short",
			month: "short",
			day: "numeric"
		}).format(new Date(e));
	}
};
// src/index.ts
typeof customElements < "u" && !customElements.get("refill-buttons") && customElements.define("refill-buttons", c);
export { t as ButtonService, c as RefillButtons, e as RefillError, r as SseFrames };
