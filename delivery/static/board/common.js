// Shared pieces of the live board pages: a reconnecting WebSocket, the connection indicator,
// formatting, DOM building (no innerHTML with data: names come from upstream) and inline SVG charts.

const SVG_NS = "http://www.w3.org/2000/svg";

// --- DOM ------------------------------------------------------------------------------------------
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  return node;
}

/** Set a cell's text; when a number changed, flash it green (up) or red (down), or plain for `neutral`
 * values such as scores. */
export function setFlashing(node, text, value, previous, neutral = false) {
  if (node.textContent === text) return false;
  node.textContent = text;
  if (typeof value === "number" && typeof previous === "number" && value !== previous && value >= 0 && previous >= 0) {
    node.classList.remove("flash-up", "flash-down", "flash");
    void node.offsetWidth; // restart the animation when it flashes again before it ended
    node.classList.add(neutral ? "flash" : value > previous ? "flash-up" : "flash-down");
  }
  return true;
}

export function logoNode(team) {
  const wrap = el("span", "logo");
  const initials = el("span", "logo-fallback", (team.abbr || team.name || "?").slice(0, 2));
  initials.setAttribute("aria-hidden", "true");
  wrap.append(initials);
  if (team.logo && /^https?:\/\//.test(team.logo)) {
    const img = el("img");
    img.alt = "";
    img.loading = "lazy";
    img.decoding = "async";
    img.referrerPolicy = "no-referrer";
    img.addEventListener("load", () => wrap.classList.add("has-img"));
    img.addEventListener("error", () => img.remove());
    img.src = team.logo;
    wrap.append(img);
  }
  return wrap;
}

// --- Formatting -----------------------------------------------------------------------------------
const MISSING = -1;

export function cents(value) {
  if (typeof value !== "number" || value < 0) return "—";
  return `${Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1)}¢`;
}

export function percent(value) {
  return typeof value === "number" && value >= 0 ? `${Math.round(value)}%` : "—";
}

export function isMissing(value) {
  return value === MISSING || value === null || value === undefined;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const dateFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

/** Kickoff in the viewer's time zone: "7:30 PM" today, "Sat 7:30 PM" this week, else "Dec 3 7:30 PM". */
export function kickoffText(iso, now = new Date()) {
  if (!iso) return { short: "TBD", full: "Kickoff time not announced" };
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return { short: "TBD", full: "Kickoff time not announced" };
  const sameDay = when.toDateString() === now.toDateString();
  const days = Math.abs(when - now) / 86400000;
  const prefix = sameDay ? "" : days < 6 ? `${dayFmt.format(when)} ` : `${dateFmt.format(when)} `;
  return { short: prefix + timeFmt.format(when), full: fullFmt.format(when) };
}

export function timeLabel(ms, spanMs) {
  const when = new Date(ms);
  if (spanMs > 2 * 86400000) return dateFmt.format(when);
  return timeFmt.format(when);
}

/** live | upcoming | ended: the board's status filter buckets. */
export function statusBucket(game) {
  if (game.ended || game.status === "final" || game.status === "canceled") return "ended";
  if (game.isLive || game.status === "live") return "live";
  return "upcoming";
}

export function statusLabel(status) {
  return { final: "Final", canceled: "Canceled", postponed: "Postponed", live: "Live", scheduled: "Scheduled" }[
    status] || status || "";
}

// --- Charts ---------------------------------------------------------------------------------------
/** A small trend line of 0-100 values; up green, down red. */
export function sparkline(values, width = 64, height = 24) {
  const svg = svgEl("svg", { class: "spark", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  const points = (values || []).filter((v) => typeof v === "number" && v >= 0);
  if (points.length < 2) {
    svg.setAttribute("aria-label", "no price history yet");
    svg.append(svgEl("line", { x1: 2, x2: width - 2, y1: height / 2, y2: height / 2, class: "spark-flat" }));
    return svg;
  }
  const lo = Math.min(...points), hi = Math.max(...points);
  const span = Math.max(hi - lo, 2);
  const mid = (hi + lo) / 2;
  const y = (v) => height - 2 - ((v - (mid - span / 2)) / span) * (height - 4);
  const x = (i) => 1 + (i / (points.length - 1)) * (width - 2);
  const d = points.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)} ${y(v).toFixed(1)}`).join("");
  const trend = points[points.length - 1] >= points[0] ? "up" : "down";
  svg.classList.add(`spark-${trend}`);
  svg.setAttribute("aria-label", `home win probability ${points[0]}% to ${points[points.length - 1]}%`);
  svg.append(svgEl("path", { d, class: "spark-line" }));
  svg.append(svgEl("circle", { cx: x(points.length - 1).toFixed(1), cy: y(points[points.length - 1]).toFixed(1),
                               r: 1.8, class: "spark-dot" }));
  return svg;
}

/** A line chart of [{t: ms, p: 0-1}] with price (cents) and time axes. */
export function lineChart(points, { width = 640, height = 220 } = {}) {
  const svg = svgEl("svg", { class: "line-chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  if (points.length < 2) {
    svg.setAttribute("aria-label", "not enough price history");
    const text = svgEl("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "chart-empty" });
    text.textContent = "No price history for this interval yet";
    svg.append(text);
    return svg;
  }
  const pad = { left: 36, right: 8, top: 10, bottom: 22 };
  const prices = points.map((p) => p.p * 100);
  let lo = Math.min(...prices), hi = Math.max(...prices);
  if (hi - lo < 4) { lo -= 2; hi += 2; }
  lo = Math.max(0, Math.floor(lo)); hi = Math.min(100, Math.ceil(hi));
  const t0 = points[0].t, t1 = points[points.length - 1].t;
  const x = (t) => pad.left + ((t - t0) / Math.max(t1 - t0, 1)) * (width - pad.left - pad.right);
  const y = (v) => pad.top + (1 - (v - lo) / Math.max(hi - lo, 1)) * (height - pad.top - pad.bottom);
  for (const v of [lo, (lo + hi) / 2, hi]) {
    svg.append(svgEl("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: "grid" }));
    const label = svgEl("text", { x: pad.left - 4, y: y(v) + 4, "text-anchor": "end", class: "axis" });
    label.textContent = `${Math.round(v)}¢`;
    svg.append(label);
  }
  for (const [t, anchor] of [[t0, "start"], [(t0 + t1) / 2, "middle"], [t1, "end"]]) {
    const label = svgEl("text", { x: x(t), y: height - 6, "text-anchor": anchor, class: "axis" });
    label.textContent = timeLabel(t, t1 - t0);
    svg.append(label);
  }
  const d = points.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)} ${y(p.p * 100).toFixed(1)}`).join("");
  const trend = prices[prices.length - 1] >= prices[0] ? "up" : "down";
  svg.classList.add(`chart-${trend}`);
  svg.append(svgEl("path", { d, class: "chart-line" }));
  const last = points[points.length - 1];
  svg.append(svgEl("circle", { cx: x(last.t), cy: y(last.p * 100), r: 3, class: "chart-dot" }));
  svg.setAttribute("aria-label", `price from ${prices[0].toFixed(1)}¢ to ${prices[prices.length - 1].toFixed(1)}¢`);
  return svg;
}

// --- Connection -----------------------------------------------------------------------------------
const indicator = () => document.getElementById("conn");

export function connectionShow(state, text) {
  const node = indicator();
  if (!node) return;
  node.dataset.state = state;
  node.querySelector(".conn-text").textContent = text;
}

export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/**
 * A WebSocket that reconnects with exponential back-off and full jitter. `onOpen(send, reconnected)` runs
 * on every (re)connect so the page can resume; `onFrame(frame)` gets every parsed server frame.
 */
export class LiveSocket {
  constructor(path, { onOpen, onFrame, baseMs = 500, maxMs = 15000, staleMs = 65000 }) {
    this.url = wsUrl(path);
    this.onOpen = onOpen;
    this.onFrame = onFrame;
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.staleMs = staleMs; // the server sends a heartbeat every 25 s: silence this long means a dead link
    this.attempt = 0;
    this.connects = 0;
    this.ws = null;
    this.timer = null;
    this.lastFrameAt = 0;
    this.openedAt = 0;
    window.addEventListener("online", () => this.reconnectNow());
    setInterval(() => this.watch(), 5000);
  }

  start() {
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    connectionShow(this.connects ? "reconnecting" : "connecting", this.connects ? "Reconnecting…" : "Connecting…");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (error) {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.openedAt = this.lastFrameAt = Date.now();
      const reconnected = this.connects > 0;
      this.connects += 1;
      connectionShow("live", "Live");
      this.onOpen((message) => this.send(message), reconnected);
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return; // not ours to crash on
      }
      this.onFrame(frame);
    });
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      // A link that stayed up a while starts the back-off over; one that keeps failing backs off further.
      if (this.openedAt && Date.now() - this.openedAt > 10000) this.attempt = 0;
      this.openedAt = 0;
      this.retry();
    });
  }

  retry() {
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    const delay = Math.round(this.baseMs / 2 + Math.random() * (cap - this.baseMs / 2));
    this.attempt += 1;
    connectionShow("offline", `Offline — retrying in ${Math.max(1, Math.round(delay / 1000))}s`);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  watch() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const quiet = Date.now() - this.lastFrameAt;
    if (quiet > this.staleMs) {
      this.ws.close(); // the close handler reconnects and resumes
    } else if (quiet > 20000) {
      this.send({ type: "ping" });
    }
  }
}

export async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = (body && body.error) || `HTTP ${response.status}`;
    throw Object.assign(new Error(message), { status: response.status });
  }
  return body;
}

/** Run `fn` at most once per animation frame (or every 250 ms while the page is hidden). */
export function frameScheduler(fn) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    const run = () => { pending = false; fn(); };
    if (document.visibilityState === "visible") requestAnimationFrame(run);
    else setTimeout(run, 250);
  };
}
