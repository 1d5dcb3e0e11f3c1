// One game (`/games/<slug>`): every market from /ws/activity (initial + updates), the header from
// /api/games/slug/<slug>/frontend, and a price-history chart from /api/price-history/<tokenId>.
import {
  LiveSocket, cents, el, frameScheduler, getJson, kickoffText, lineChart, logoNode, percent, setFlashing,
  statusBucket, statusLabel,
} from "./common.js";

const main = document.getElementById("main");
const slug = main.dataset.slug;
const head = document.getElementById("game-head");
const marketsRoot = document.getElementById("markets");
const chartRoot = document.getElementById("chart");
const chartTitle = document.getElementById("chart-title");

const TYPE_ORDER = ["moneyline", "spreads", "totals", "other"];
const TYPE_TITLE = { moneyline: "Moneyline", spreads: "Spreads", totals: "Totals", other: "Other markets" };
const LIVE_POINTS_MAX = 2000;

const state = { frontend: null, activity: null, missing: false, seq: 0 };
const chart = { token: null, label: "", interval: "1d", points: [], request: 0 };
const cards = new Map(); // conditionId -> market card view
let layoutKey = "";
let headKey = "";

// --- Header ---------------------------------------------------------------------------------------
function teamBlock(team, side) {
  const block = el("div", `head-team ${side}`);
  block.append(logoNode(team));
  const text = el("div", "head-team-text");
  text.append(el("span", "abbr", team.abbr || ""), el("span", "head-name", team.name || ""),
              el("span", "record", team.record || ""));
  block.append(text);
  const score = el("span", "head-score", team.score === undefined || team.score === null ? "" : team.score);
  block.append(score);
  return block;
}

function headRender() {
  if (state.missing) {
    head.replaceChildren(el("p", "summary", `Game not found: ${slug}`));
    document.body.dataset.ready = "true";
    return;
  }
  const base = state.frontend;
  if (!base) return;
  const live = state.activity || {};
  const game = { ...base, homeTeam: live.homeTeam || base.homeTeam, awayTeam: live.awayTeam || base.awayTeam,
                 status: live.status || base.status };
  const key = JSON.stringify([game.title, game.status, game.kickoff, game.volume, base.quarter, base.gameTime,
    ...[game.awayTeam, game.homeTeam].map((t) => t && [t.abbr, t.name, t.record, t.logo, t.score])]);
  if (key === headKey) return; // price ticks do not touch the header: keep its DOM (and logos) as is
  headKey = key;
  const bucket = statusBucket(game);
  const kickoff = kickoffText(game.kickoff);
  const title = el("h1", "game-title", game.title || slug);
  const meta = el("p", "game-meta");
  const badge = el("span", `badge badge-${bucket}`, bucket === "live" ? "LIVE" : bucket === "ended"
    ? statusLabel(game.status === "canceled" ? "canceled" : "final") : statusLabel(game.status));
  meta.append(el("span", "sport-tag", String(game.sport || "").toUpperCase()), badge);
  if (bucket === "live") meta.append(el("span", "clock", [base.quarter, base.gameTime].filter(Boolean).join(" ")));
  const when = el("time", "kickoff", kickoff.short);
  when.dateTime = game.kickoff || "";
  when.title = kickoff.full;
  meta.append(when, el("span", "volume", `Vol ${game.volume || "—"}`));
  const teams = el("div", "head-teams");
  teams.append(teamBlock(game.awayTeam || {}, "away"), el("span", "at", "@"), teamBlock(game.homeTeam || {}, "home"));
  head.replaceChildren(title, meta, teams);
}

async function frontendLoad() {
  try {
    const body = await getJson(`/api/games/slug/${encodeURIComponent(slug)}/frontend`);
    state.frontend = body.game;
    state.missing = false;
  } catch (error) {
    if (error.status === 404) state.missing = true;
    else head.replaceChildren(el("p", "summary", `Could not load the game (${error.message}).`));
  }
  scheduleRender();
}

let frontendTimer = null;
function frontendRefreshSoon() {
  // Scores/period changed: the REST copy has the clock; at most one refresh per second.
  if (frontendTimer) return;
  frontendTimer = setTimeout(() => { frontendTimer = null; frontendLoad(); }, 1000);
}

// --- Markets --------------------------------------------------------------------------------------
function marketType(market) {
  return TYPE_ORDER.includes(market.type) ? market.type : "other";
}

function marketLayout(markets) {
  const groups = new Map(TYPE_ORDER.map((t) => [t, []]));
  for (const market of markets) groups.get(marketType(market)).push(market);
  for (const [type, list] of groups) {
    if (type !== "moneyline") list.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || a.title.localeCompare(b.title));
  }
  cards.clear();
  const sections = [];
  for (const type of TYPE_ORDER) {
    const list = groups.get(type);
    if (!list.length) continue;
    const section = el("section", "market-group");
    section.dataset.type = type;
    section.append(el("h2", "", `${TYPE_TITLE[type]} (${list.length})`));
    const grid = el("div", "market-grid");
    for (const market of list) grid.append(cardCreate(market));
    section.append(grid);
    sections.push(section);
  }
  marketsRoot.replaceChildren(...sections);
}

function cardCreate(market) {
  const card = el("article", "market");
  card.dataset.marketId = market.conditionId;
  card.dataset.type = marketType(market);
  const top = el("header", "market-top");
  top.append(el("h3", "", market.title || market.question), el("span", "market-vol", market.volume || ""));
  const outcomes = el("div", "outcomes");
  const view = { card, outcomes: new Map(), market: null };
  for (const outcome of market.outcomes) {
    const button = el("button", "outcome");
    button.type = "button";
    button.dataset.token = outcome.clobTokenId;
    const label = el("span", "o-label", outcome.label);
    const prob = el("span", "prob");
    const buy = el("span", "buy");
    const sell = el("span", "sell");
    button.append(label, prob, buy, sell);
    button.addEventListener("click", () => chartSelect(outcome.clobTokenId, `${market.title} — ${outcome.label}`));
    outcomes.append(button);
    view.outcomes.set(outcome.clobTokenId, { button, prob, buy, sell, outcome: null });
  }
  if (market.closed) card.classList.add("closed");
  card.append(top, outcomes);
  cards.set(market.conditionId, view);
  return card;
}

function marketsUpdate(markets) {
  const key = markets.map((m) => `${m.conditionId}:${m.outcomes.map((o) => o.clobTokenId).join(",")}`).join("|");
  if (key !== layoutKey) {
    layoutKey = key;
    marketLayout(markets);
  }
  for (const market of markets) {
    const view = cards.get(market.conditionId);
    if (!view) continue;
    for (const outcome of market.outcomes) {
      const cell = view.outcomes.get(outcome.clobTokenId);
      if (!cell) continue;
      const before = cell.outcome || {};
      setFlashing(cell.prob, percent(outcome.probability), outcome.probability, before.probability);
      setFlashing(cell.buy, cents(outcome.buyPrice), outcome.buyPrice, before.buyPrice);
      setFlashing(cell.sell, cents(outcome.sellPrice), outcome.sellPrice, before.sellPrice);
      cell.button.setAttribute("aria-pressed", String(outcome.clobTokenId === chart.token));
      if (outcome.clobTokenId === chart.token && before.price !== undefined && outcome.price !== before.price
          && outcome.price >= 0) {
        chartLivePoint(outcome.price / 100);
      }
      cell.outcome = outcome;
    }
    view.market = market;
  }
}

/** The chart's first outcome: the home team's moneyline side (two-way "Team A / Team B" or soccer's
 * "Will <home> win?" Yes), else the first priced outcome. */
function defaultOutcome(game) {
  const moneyline = game.markets.filter((m) => m.type === "moneyline");
  const home = game.homeTeam || {};
  const isHome = (text) => Boolean(text) && (text === home.name || text === home.abbr);
  for (const market of moneyline) {
    const hit = market.outcomes.find((o) => isHome(o.label) || isHome(o.shortLabel));
    if (hit) return [hit, market];
  }
  for (const market of moneyline) {
    const yes = market.outcomes.find((o) => o.label === "Yes");
    if (yes && home.name && (market.question || "").includes(home.name)) return [yes, market];
  }
  for (const market of [...moneyline, ...game.markets]) {
    const hit = market.outcomes.find((o) => o.price >= 0);
    if (hit) return [hit, market];
  }
  return [null, null];
}

// --- Chart ----------------------------------------------------------------------------------------
function chartSelect(token, label) {
  chart.token = token;
  chart.label = label;
  for (const cell of document.querySelectorAll(".outcome")) {
    cell.setAttribute("aria-pressed", String(cell.dataset.token === token));
  }
  chartLoad();
}

async function chartLoad() {
  if (!chart.token) return;
  const request = ++chart.request;
  chartTitle.textContent = chart.label;
  chartRoot.dataset.state = "loading";
  try {
    const body = await getJson(`/api/price-history/${chart.token}?interval=${chart.interval}`);
    if (request !== chart.request) return; // a newer selection won
    chart.points = body.history.map((p) => ({ t: p.timestamp * 1000, p: p.price }));
    chartRoot.dataset.state = "ready";
  } catch (error) {
    if (request !== chart.request) return;
    chart.points = [];
    chartRoot.dataset.state = "error";
  }
  chartRoot.dataset.token = chart.token;
  chartDraw();
}

function chartLivePoint(price) {
  chart.points.push({ t: Date.now(), p: price });
  if (chart.points.length > LIVE_POINTS_MAX) chart.points.shift();
  chartDraw();
}

function chartDraw() {
  // Drawn at the container's pixel size, so text and dots keep their shape at any width.
  const width = Math.max(240, Math.floor(chartRoot.clientWidth || 640));
  chartRoot.replaceChildren(lineChart(chart.points, { width, height: 220 }));
  chartRoot.dataset.points = String(chart.points.length);
}

function intervalsWire() {
  for (const chip of document.querySelectorAll(".intervals .chip")) {
    chip.addEventListener("click", () => {
      chart.interval = chip.dataset.interval;
      for (const other of document.querySelectorAll(".intervals .chip")) {
        other.setAttribute("aria-pressed", String(other === chip));
      }
      chartLoad();
    });
  }
}

// --- Feed -----------------------------------------------------------------------------------------
function onFrame(frame) {
  if (frame.type === "initial" || frame.type === "price_update" || frame.type === "game_update") {
    if (!frame.game || !Array.isArray(frame.game.markets)) return;
    state.activity = frame.game;
    state.seq = frame.seq || state.seq;
    if (frame.type === "game_update") frontendRefreshSoon();
    scheduleRender();
  } else if (frame.type === "game_removed") {
    frontendRefreshSoon();
  } else if (frame.type === "error" && /not found/i.test(frame.message || "")) {
    state.missing = true;
    scheduleRender();
  }
}

function render() {
  headRender();
  if (state.activity) {
    marketsUpdate(state.activity.markets);
    if (!chart.token) {
      const [outcome, market] = defaultOutcome(state.activity);
      if (outcome) chartSelect(outcome.clobTokenId, `${market.title} — ${outcome.label}`);
    }
    document.body.dataset.ready = "true";
  }
}

const scheduleRender = frameScheduler(render);

intervalsWire();
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (chart.token) chartDraw(); }, 150);
});
frontendLoad();
// Every (re)connect subscribes again: the `initial` frame carries the full current state.
new LiveSocket("/ws/activity?protocol=2", { onOpen: (send) => send({ type: "subscribe", slug }), onFrame }).start();
