// The games board (`/`): REST for the starting lists, /ws/games for live changes (topic "all",
// sequence numbers, `resume` after a reconnect), filters by sport and status.
import {
  LiveSocket, cents, el, frameScheduler, getJson, kickoffText, logoNode, percent, setFlashing, sparkline,
  statusBucket, statusLabel,
} from "./common.js";

const TOPIC = "all";
const PAGE_LIMIT = 100;
const MAX_PAGES = 10;
const CHART_POINTS = 20;

const games = new Map(); // id -> latest FrontendGame
const rows = new Map(); // id -> row view
const sections = new Map(); // sport -> section view
const sportInfo = new Map(); // code -> {label} from /api/sports
const feed = { seq: 0, epoch: 0, synced: false }; // position in TOPIC (and its numbering); synced once a snapshot arrived
const filters = readFilters();
const board = document.getElementById("board");
const summary = document.getElementById("summary");
const sportSelect = document.getElementById("sport-filter");
let restLoaded = false;
let loadError = "";

// --- State ----------------------------------------------------------------------------------------
const fromFeed = new Set(); // ids whose state came from the sequenced feed: REST may not overwrite them

/** Merge a FrontendGame into the state. A game that carries only the current probability as `chartData`
 * (fewer than 2 points) keeps the known history with its last point moved, instead of losing the sparkline. */
function gameMerge(incoming, source) {
  if (!incoming || incoming.id === undefined) return;
  const id = String(incoming.id);
  const current = games.get(id);
  if (source === "rest" && current && fromFeed.has(id)) {
    // The feed is ordered and newer than any listing; REST only adds the 24 h history it lacks.
    const chart = incoming.chartData || [];
    if (chart.length >= 2 && (current.chartData || []).length < 2) {
      const last = (current.chartData || [])[0];
      games.set(id, { ...current, chartData: last === undefined ? chart : [...chart.slice(0, -1), last],
                      percentChange: incoming.percentChange });
    }
    return;
  }
  if (source === "rest" && current && (incoming.updatedAt || 0) < (current.updatedAt || 0)) return;
  const game = current ? { ...current, ...incoming } : { ...incoming };
  const chart = incoming.chartData || [];
  if (current && chart.length < 2 && (current.chartData || []).length >= 2) {
    const kept = current.chartData.slice(-CHART_POINTS);
    if (chart.length === 1) kept[kept.length - 1] = chart[0];
    game.chartData = kept;
    game.percentChange = current.percentChange;
  }
  if (source === "feed") fromFeed.add(id);
  games.set(id, game);
}

function snapshotApply(list, seq, epoch) {
  const present = new Set();
  for (const game of list) {
    gameMerge(game, "feed");
    present.add(String(game.id));
  }
  // The snapshot holds every game that has not ended: an unlisted non-ended game left the feed.
  for (const [id, game] of games) {
    if (!present.has(id) && statusBucket(game) !== "ended") {
      games.delete(id);
      fromFeed.delete(id);
    }
  }
  feed.seq = seq;
  feed.epoch = epoch;
  feed.synced = true;
}

function onFrame(frame) {
  if (frame.type === "batch" && frame.topic === TOPIC) {
    for (const event of frame.events || []) {
      if (event.seq <= feed.seq) continue; // already have it (replay overlap)
      gameMerge(event.game, "feed");
      feed.seq = event.seq;
      feed.epoch = frame.epoch;
    }
    schedule();
  } else if ((frame.type === "snapshot" || frame.type === "resync" || frame.type === "initial") && frame.topic === TOPIC) {
    snapshotApply(frame.games || [], frame.seq || 0, frame.epoch || 0);
    // After a resync, games that ended while we were away left the snapshot: fetch them as ended.
    if (frame.type === "resync") endedLoad().then(schedule, () => {});
    schedule();
  } else if (frame.type === "error") {
    console.warn("board: server says", frame.message);
  }
}

function onOpen(send) {
  // After a reconnect, ask for exactly what was missed; the server replays it or sends a resync.
  if (feed.synced) send({ type: "resume", seqs: { [TOPIC]: feed.seq }, epoch: feed.epoch });
  else send({ type: "subscribe", topics: [TOPIC] });
}

// --- REST -----------------------------------------------------------------------------------------
async function pagesLoad(query, firstPage = 1, maxPages = MAX_PAGES) {
  for (let page = firstPage; page < firstPage + maxPages; page += 1) {
    const body = await getJson(`/api/games/frontend?${query}&limit=${PAGE_LIMIT}&page=${page}`);
    for (const game of body.games) gameMerge(game, "rest");
    if (!body.hasMore) return;
  }
}

/** The most recent ended games (the listing is in kickoff order, so its last two pages). */
async function endedLoad() {
  const head = await getJson("/api/games/frontend?status=ended&limit=1");
  const lastPage = Math.max(1, Math.ceil(head.total / PAGE_LIMIT));
  await pagesLoad("status=ended", Math.max(1, lastPage - 1), 2);
}

async function restLoad() {
  const sports = getJson("/api/sports").then((body) => {
    for (const s of body.sports) sportInfo.set(s.code, { label: s.label || s.code.toUpperCase() });
  }).catch(() => {});
  try {
    await pagesLoad("includeEnded=false");
    await endedLoad();
    loadError = "";
  } catch (error) {
    loadError = `could not load the game list (${error.message}); live updates continue`;
  }
  await sports;
  restLoaded = true;
  schedule();
}

// --- Filters --------------------------------------------------------------------------------------
function readFilters() {
  const params = new URLSearchParams(location.search);
  const status = params.get("status") || "";
  return {
    sport: (params.get("sport") || "").toLowerCase(),
    status: ["live", "upcoming", "ended"].includes(status) ? status : "",
  };
}

function writeFilters() {
  const params = new URLSearchParams();
  if (filters.sport) params.set("sport", filters.sport);
  if (filters.status) params.set("status", filters.status);
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

function filtersWire() {
  sportSelect.addEventListener("change", () => {
    filters.sport = sportSelect.value;
    writeFilters();
    render();
  });
  for (const chip of document.querySelectorAll(".status-pick .chip")) {
    chip.addEventListener("click", () => {
      filters.status = chip.dataset.status;
      writeFilters();
      render();
    });
  }
}

function sportLabel(code) {
  return (sportInfo.get(code) || {}).label || code.toUpperCase();
}

function sportOrder(a, b) {
  return sportLabel(a).localeCompare(sportLabel(b)) || a.localeCompare(b);
}

function sportOptionsUpdate(counts) {
  const codes = [...new Set([...counts.keys(), ...(filters.sport ? [filters.sport] : [])])].sort(sportOrder);
  const wanted = ["", ...codes];
  const have = [...sportSelect.options].map((o) => o.value);
  if (wanted.join("|") !== have.join("|")) {
    sportSelect.replaceChildren(...wanted.map((code) => {
      const option = el("option", "", code ? sportLabel(code) : "All sports");
      option.value = code;
      return option;
    }));
  }
  for (const option of sportSelect.options) {
    const n = option.value ? counts.get(option.value) || 0 : [...counts.values()].reduce((a, b) => a + b, 0);
    const text = `${option.value ? sportLabel(option.value) : "All sports"} (${n})`;
    if (option.textContent !== text) option.textContent = text;
  }
  sportSelect.value = filters.sport;
}

// --- Rendering ------------------------------------------------------------------------------------
function teamLine(side) {
  const root = el("div", `team ${side}`);
  const logo = el("span", "logo-slot");
  const name = el("span", "name");
  const abbr = el("span", "abbr");
  const record = el("span", "record");
  name.append(abbr, record);
  const score = el("span", "score");
  const prob = el("span", "prob");
  const buy = el("span", "buy");
  const sell = el("span", "sell");
  root.append(logo, name, score, prob, buy, sell);
  return { root, logo, abbr, record, score, prob, buy, sell, logoUrl: null };
}

function rowCreate(game) {
  const root = el("a", "row");
  root.dataset.gameId = game.id;
  const when = el("div", "when");
  const badge = el("span", "badge");
  const sub = el("span", "when-sub");
  const draw = el("span", "draw");
  when.append(badge, sub, draw);
  const away = teamLine("away");
  const home = teamLine("home");
  const teams = el("div", "teams");
  teams.append(away.root, home.root);
  const spark = el("div", "spark-cell");
  root.append(when, teams, spark);
  return { root, badge, sub, draw, away, home, spark, game: null, chartKey: "" };
}

function teamUpdate(line, team, previous, showScore) {
  team = team || {};
  previous = previous || {};
  if (line.logoUrl !== (team.logo || "") || !line.logo.firstChild) {
    line.logoUrl = team.logo || "";
    line.logo.replaceChildren(logoNode(team));
  }
  line.abbr.textContent = team.abbr || "";
  line.abbr.title = team.name || "";
  line.record.textContent = team.record || "";
  const score = showScore && team.score !== undefined && team.score !== null ? String(team.score) : "";
  setFlashing(line.score, score, team.score, previous.score, true);
  setFlashing(line.prob, percent(team.probability), team.probability, previous.probability);
  setFlashing(line.buy, cents(team.buyPrice), team.buyPrice, previous.buyPrice);
  setFlashing(line.sell, cents(team.sellPrice), team.sellPrice, previous.sellPrice);
}

function rowUpdate(row, game) {
  if (row.game === game) return;
  const previous = row.game || {};
  const bucket = statusBucket(game);
  row.root.href = `/games/${encodeURIComponent(game.slug)}`;
  row.root.dataset.slug = game.slug;
  row.root.dataset.status = bucket;
  const kickoff = kickoffText(game.kickoff);
  if (bucket === "live") {
    row.badge.textContent = "LIVE";
    row.sub.textContent = [game.quarter, game.gameTime].filter(Boolean).join(" ");
  } else if (bucket === "ended") {
    row.badge.textContent = statusLabel(game.status === "canceled" ? "canceled" : "final");
    row.sub.textContent = kickoff.short;
  } else {
    row.badge.textContent = game.status === "postponed" ? "Postponed" : kickoff.short;
    row.sub.textContent = game.status === "postponed" ? kickoff.short : "";
  }
  row.root.title = `${game.title || ""} — kickoff ${kickoff.full}`;
  row.badge.className = `badge badge-${bucket}`;
  const hasDraw = typeof game.drawProbability === "number" && game.drawProbability >= 0;
  setFlashing(row.draw, hasDraw ? `Draw ${percent(game.drawProbability)}` : "", game.drawProbability,
              previous.drawProbability);
  const showScore = bucket !== "upcoming";
  teamUpdate(row.away, game.awayTeam, previous.awayTeam, showScore);
  teamUpdate(row.home, game.homeTeam, previous.homeTeam, showScore);
  const chartKey = (game.chartData || []).join(",");
  if (chartKey !== row.chartKey) {
    row.chartKey = chartKey;
    row.spark.replaceChildren(sparkline(game.chartData));
  }
  row.game = game;
}

function sectionFor(sport) {
  let section = sections.get(sport);
  if (!section) {
    const root = el("section", "sport");
    root.dataset.sport = sport;
    const head = el("header", "sport-head");
    const title = el("h2", "", sportLabel(sport));
    const count = el("span", "count");
    const legend = el("div", "legend");
    for (const name of ["Score", "Win", "Buy", "Sell"]) legend.append(el("span", "", name));
    head.append(title, count, legend);
    const list = el("div", "rows");
    root.append(head, list);
    section = { root, title, count, list };
    sections.set(sport, section);
  }
  section.title.textContent = sportLabel(sport);
  return section;
}

const BUCKET_RANK = { live: 0, upcoming: 1, ended: 2 };

function gameOrder(a, b) {
  const ba = statusBucket(a), bb = statusBucket(b);
  if (ba !== bb) return BUCKET_RANK[ba] - BUCKET_RANK[bb];
  const ka = a.kickoff || "9999", kb = b.kickoff || "9999";
  const byKickoff = ba === "ended" ? kb.localeCompare(ka) : ka.localeCompare(kb);
  return byKickoff || String(a.id).localeCompare(String(b.id));
}

function render() {
  const bySport = new Map();
  const sportCounts = new Map();
  const tally = { live: 0, upcoming: 0, ended: 0 };
  for (const game of games.values()) {
    const sport = String(game.sport || "other").toLowerCase();
    const bucket = statusBucket(game);
    if (!filters.status || bucket === filters.status) sportCounts.set(sport, (sportCounts.get(sport) || 0) + 1);
    // `sport` is the original's code (tennis spans atp/wta); a league code in the filter still matches.
    if (filters.sport && sport !== filters.sport && game.league !== filters.sport) continue;
    if (filters.status && bucket !== filters.status) continue;
    tally[bucket] += 1;
    if (!bySport.has(sport)) bySport.set(sport, []);
    bySport.get(sport).push(game);
  }
  sportOptionsUpdate(sportCounts);
  for (const chip of document.querySelectorAll(".status-pick .chip")) {
    chip.setAttribute("aria-pressed", String(chip.dataset.status === filters.status));
  }

  const order = [...bySport.keys()].sort(sportOrder);
  const shownSections = [];
  const shownRows = new Set();
  for (const sport of order) {
    const list = bySport.get(sport).sort(gameOrder);
    const section = sectionFor(sport);
    section.count.textContent = `${list.length}`;
    const wanted = list.map((game) => {
      let row = rows.get(String(game.id));
      if (!row) {
        row = rowCreate(game);
        rows.set(String(game.id), row);
      }
      rowUpdate(row, game);
      shownRows.add(String(game.id));
      return row.root;
    });
    const current = [...section.list.children];
    if (current.length !== wanted.length || current.some((node, i) => node !== wanted[i])) {
      section.list.replaceChildren(...wanted);
    }
    shownSections.push(section.root);
  }
  const currentSections = [...board.children];
  if (currentSections.length !== shownSections.length || currentSections.some((n, i) => n !== shownSections[i])) {
    board.replaceChildren(...shownSections);
  }
  for (const [id, row] of rows) {
    if (!shownRows.has(id) && !games.has(id)) rows.delete(id); // keep hidden rows: their flash state is cheap
  }

  const total = tally.live + tally.upcoming + tally.ended;
  let text = `${total} games · ${tally.live} live · ${tally.upcoming} upcoming · ${tally.ended} ended`;
  if (!restLoaded && !feed.synced) text = "Loading games…";
  else if (!total) text = "No games match these filters.";
  summary.textContent = loadError ? `${text} — ${loadError}` : text;
  document.body.dataset.ready = String(restLoaded && feed.synced);
}

const schedule = frameScheduler(render);

// --- Start ----------------------------------------------------------------------------------------
filtersWire();
sportSelect.value = filters.sport;
// Protocol 2 (topics, batches, sequence numbers, resume): the original protocol has no resume.
new LiveSocket("/ws/games?protocol=2", { onOpen, onFrame }).start();
restLoad();
