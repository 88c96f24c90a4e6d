// The Refill button service (`/v1/screen/…`), as a device's screen calls it: with the device's
// own buttons token (scope `refill:buttons`), which the page gets from a token provider.

/** An amount of money in the currency's minor unit. */
export interface Money {
  amountMinor: number;
  currency: string;
}

/** An order of the customer's. */
export interface Order {
  eventInstanceId: string;
  asin: string;
  title: string;
  status: "placed" | "shipped" | "delivered" | "cancelled";
  quantity: number;
  price: Money;
  placedAt: string;
  expectedDelivery: string;
  cancellableUntil: string | null;
}

/** A press that waits for (or got) the customer's answer in the Refill app. */
export interface Approval {
  id: string;
  asin: string;
  title: string;
  status: "pending" | "approved" | "declined" | "expired";
  price: Money;
  deviceName: string;
  expiresAt: string;
  order: Order | null;
}

/** One button: a product the customer chose for this device. */
export interface Button {
  asin: string;
  title: string;
  imageUrl: string | null;
  price: Money;
  pack: { value: number; unit: "count" | "g" | "ml" };
  openOrder: Order | null;
  needsApproval: boolean;
  pendingApproval: Approval | null;
}

/** `GET /v1/screen/buttons`. */
export interface Buttons {
  deviceName: string;
  buttons: Button[];
  lastEventId: number;
}

/** `POST /v1/screen/buttons/{asin}/press`. */
export interface PressResult {
  detailCode: "STANDARD_ORDER_PLACED" | "TEST_ORDER_PLACED" | "ORDER_INPROGRESS" | "APPROVAL_REQUIRED";
  eventInstanceId: string | null;
  order: Order | null;
  approval: Approval | null;
}

/** One of the service's events, as the stream tells it. */
export interface ServiceEvent {
  id: number;
  kind: string;
  body: Record<string, unknown>;
}

/**
 * Gives the device's buttons token. `renew` is true after the service refused the last one
 * (expired or revoked): the provider then gets a new one (the device refreshes it) or throws.
 */
export type TokenProvider = (renew: boolean) => Promise<string>;

/** What went wrong, in words a screen can show. `status` 0: the service could not be reached. */
export class RefillError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = "RefillError";
  }

  /** The service could not be reached (or did not answer). */
  get offline(): boolean {
    return this.status === 0;
  }

  /** The device's token is refused even after renewing it: it is no longer linked. */
  get unlinked(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** The button service at `base` (the Refill service's address). */
export class ButtonService {
  private readonly base: string;

  constructor(
    base: string,
    private readonly token: TokenProvider,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {
    this.base = base.replace(/\/+$/, "");
  }

  /** An address on the service (a button's picture is a path on it). */
  url(path: string): string {
    return /^[a-z]+:/i.test(path) ? path : this.base + path;
  }

  /** The device's buttons. */
  buttons(): Promise<Buttons> {
    return this.json("/v1/screen/buttons", { method: "GET" });
  }

  /** A press of `asin`; `key` is the press's own: the same key again never orders twice. */
  press(asin: string, key: string): Promise<PressResult> {
    return this.json(`/v1/screen/buttons/${encodeURIComponent(asin)}/press`, {
      method: "POST",
      headers: { "Idempotency-Key": key },
    });
  }

  /** Cancels an order pressed on this device, while it can be cancelled. */
  cancel(eventInstanceId: string): Promise<Order> {
    return this.json(`/v1/screen/orders/${encodeURIComponent(eventInstanceId)}/cancel`, {
      method: "POST",
    });
  }

  /**
   * Follows the event stream after event `after`, calling `seen` for each, until `signal`
   * aborts or the stream ends (then it returns the last event id; a break throws).
   */
  async follow(after: number, seen: (event: ServiceEvent) => void, signal: AbortSignal): Promise<number> {
    const answer = await this.call(`/v1/screen/events/stream?after=${after}`, {
      method: "GET",
      headers: { Accept: "text/event-stream" },
      signal,
    });
    if (!answer.body) throw new RefillError("The event stream has no body.", 0);
    let last = after;
    const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
    const frames = new SseFrames();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return last;
        for (const event of frames.push(value)) {
          last = Math.max(last, event.id);
          seen(event);
        }
      }
    } catch (e) {
      if (signal.aborted) return last;
      throw offline(e);
    } finally {
      reader.releaseLock();
    }
  }

  private async json<T>(path: string, init: RequestInit): Promise<T> {
    const answer = await this.call(path, init);
    return (await answer.json()) as T;
  }

  /** One call with the token; once more with a renewed token when it was refused. */
  private async call(path: string, init: RequestInit): Promise<Response> {
    let answer = await this.send(path, init, false);
    if (answer.status === 401) answer = await this.send(path, init, true);
    if (answer.ok) return answer;
    let message = `The Refill service answered ${answer.status}.`;
    let code: string | undefined;
    try {
      const body = (await answer.json()) as { message?: string; code?: string };
      if (body.message) message = body.message;
      code = body.code;
    } catch {
      // not JSON: the status says it
    }
    throw new RefillError(message, answer.status, code);
  }

  private async send(path: string, init: RequestInit, renew: boolean): Promise<Response> {
    let token: string;
    try {
      token = await this.token(renew);
    } catch (e) {
      throw new RefillError(
        `This device has no Refill token: ${e instanceof Error ? e.message : String(e)}`,
        401,
      );
    }
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    try {
      return await this.fetcher(this.url(path), { ...init, headers });
    } catch (e) {
      if (init.signal?.aborted) throw e;
      throw offline(e);
    }
  }
}

function offline(e: unknown): RefillError {
  return e instanceof RefillError
    ? e
    : new RefillError("Cannot reach Refill. Check the device's connection.", 0);
}

/** Server-sent events, from text pieces as they come. */
export class SseFrames {
  private buffer = "";

  push(text: string): ServiceEvent[] {
    this.buffer += text.replace(/\r\n?/g, "\n");
    const events: ServiceEvent[] = [];
    let end: number;
    while ((end = this.buffer.indexOf("\n\n")) >= 0) {
      const frame = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: number | undefined;
      let kind = "message";
      const data: string[] = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") id = Number(value);
        else if (field === "event") kind = value;
        else if (field === "data") data.push(value);
      }
      if (id === undefined || !Number.isFinite(id) || data.length === 0) continue;
      let body: Record<string, unknown> = {};
      try {
        const parsed = JSON.parse(data.join("\n")) as { body?: Record<string, unknown> };
        body = parsed.body ?? {};
      } catch {
        continue;
      }
      events.push({ id, kind, body });
    }
    return events;
  }
}
