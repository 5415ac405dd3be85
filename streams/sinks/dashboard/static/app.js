// newsmon dashboard. Every piece of article, theme or feed text goes into the page through
// textContent or createTextNode, never as markup; the Content-Security-Policy allows this file only.
"use strict";

const MAX_ROWS = 500;
const COLORS = ["#2458c6", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#e67700", "#5f3dc4", "#495057"];
const SVG = "http://www.w3.org/2000/svg";
const seen = new Set();
let volumeTimer = null;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function shortTime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? String(iso || "") : d.toISOString().replace("T", " ").slice(0, 19) + "Z";
}

function setStatus(state, text) {
  const node = document.getElementById("status");
  node.dataset.state = state;
  node.textContent = text;
}

// ------------------------------------------------------------------ live alerts

function addAlert(alert) {
  if (!alert || typeof alert.id !== "string" || seen.has(alert.id)) return;  // at-least-once: same id twice
  seen.add(alert.id);
  const row = document.createElement("tr");
  row.className = "alert new";
  row.dataset.alertId = alert.id;
  row.dataset.articleId = alert.article_id;
  row.dataset.theme = alert.theme;
  row.append(el("td", shortTime(alert.time), "time"));
  const theme = el("td", null, "theme");
  const tag = el("span", alert.theme_name || alert.theme, "theme-tag");
  tag.title = alert.theme;
  theme.append(tag);
  const kind = el("td", alert.kind + (alert.reason ? " (" + alert.reason + ")" : ""), "kind");
  if (alert.story_articles) kind.title = "story " + alert.story_id + ": " + alert.story_articles + " article(s), " + alert.story_sources + " source(s)";
  row.append(theme, kind, el("td", alert.lang, "lang"), el("td", alert.source, "source"));
  const title = el("td", null, "title");
  const link = el("a", alert.title || "(no title)");
  link.href = "#article=" + encodeURIComponent(alert.article_id);
  title.append(link);
  row.append(title);
  row.dataset.time = alert.time;
  const body = document.querySelector("#alerts tbody");
  // Newest first by alert time: the topic's partitions interleave in any order.
  const later = [...body.rows].find((r) => r.dataset.time <= alert.time);
  body.insertBefore(row, later || null);
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  document.getElementById("alert-count").textContent = "(" + seen.size + ")";
  scheduleVolume();
}

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("alert", (e) => addAlert(JSON.parse(e.data)));
  source.addEventListener("feed", () => loadFeeds());
  source.addEventListener("ready", () => setStatus("live", "live"));
  source.onerror = () => setStatus("error", "disconnected, retrying…");
}

// ------------------------------------------------------------------ volume chart

function scheduleVolume() {
  if (volumeTimer === null) volumeTimer = setTimeout(() => { volumeTimer = null; loadVolume(); }, 1000);
}

async function loadVolume() {
  const data = await getJSON("/api/volume");
  if (data) drawVolume(data);
}

function drawVolume(data) {
  const chart = document.getElementById("volume");
  const legend = document.getElementById("volume-legend");
  chart.replaceChildren();
  legend.replaceChildren();
  const W = 640, H = 240, left = 34, right = 8, top = 8, bottom = 22;
  const hours = data.hours || [];
  const series = data.series || [];
  const max = Math.max(1, ...series.flatMap((s) => s.counts));
  const x = (i) => left + (hours.length <= 1 ? 0 : (i * (W - left - right)) / (hours.length - 1));
  const y = (v) => top + (H - top - bottom) * (1 - v / max);
  for (const v of [0, Math.ceil(max / 2), max]) {
    chart.append(svg("line", { x1: left, x2: W - right, y1: y(v), y2: y(v), stroke: "#e4e7ec" }));
    chart.append(svg("text", { x: left - 4, y: y(v) + 3, "text-anchor": "end" }, v));
  }
  hours.forEach((h, i) => {
    if (i % 4 === 0 || i === hours.length - 1) {
      chart.append(svg("text", { x: x(i), y: H - 6, "text-anchor": "middle" }, String(h).slice(11, 16)));
    }
  });
  series.forEach((s, n) => {
    const color = COLORS[n % COLORS.length];
    const points = s.counts.map((v, i) => x(i) + "," + y(v)).join(" ");
    const line = svg("polyline", { points, fill: "none", stroke: color, "stroke-width": 2 });
    line.append(svg("title", {}, s.name));
    chart.append(line);
    s.counts.forEach((v, i) => {
      if (v > 0) chart.append(svg("circle", { cx: x(i), cy: y(v), r: 2.5, fill: color }));
    });
    const item = el("li");
    const swatch = el("span", null, "swatch");
    swatch.style.background = color;  // CSSOM, not an inline style attribute
    item.append(swatch, document.createTextNode(s.name + " (" + s.counts.reduce((a, b) => a + b, 0) + ")"));
    legend.append(item);
  });
  if (!series.length) legend.append(el("li", "no alerts in the last 24 hours"));
}

// ------------------------------------------------------------------ story view

function mergeSpans(spans, length) {
  const sorted = spans
    .filter((s) => Number.isInteger(s.start) && Number.isInteger(s.end) && s.start < s.end && s.end <= length)
    .sort((a, b) => a.start - b.start);
  const out = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end) {
      last.end = Math.max(last.end, s.end);
      last.labels.add(s.label);
    } else {
      out.push({ start: s.start, end: s.end, labels: new Set([s.label]) });
    }
  }
  return out;
}

function highlighted(text, spans) {
  const box = el("div", null, "text");
  let at = 0;
  for (const s of mergeSpans(spans, text.length)) {
    if (s.start > at) box.append(document.createTextNode(text.slice(at, s.start)));
    const mark = el("mark", text.slice(s.start, s.end));
    mark.title = [...s.labels].join(", ");
    box.append(mark);
    at = s.end;
  }
  if (at < text.length) box.append(document.createTextNode(text.slice(at)));
  return box;
}

async function showStory(articleId) {
  const section = document.getElementById("story-section");
  const story = document.getElementById("story");
  section.hidden = false;
  story.replaceChildren(el("p", "loading…", "meta"));
  const data = await getJSON("/api/articles/" + encodeURIComponent(articleId));
  story.replaceChildren();
  if (!data) {
    story.append(el("p", "This article is not (yet) in the dashboard's window.", "meta"));
    return;
  }
  const article = data.article;
  const alerts = data.alerts || [];
  const title = (article && article.title) || (alerts[0] && alerts[0].title) || "(no title)";
  story.append(el("h3", title, "story-title"));
  const meta = [article ? article.source : alerts[0].source, article ? article.lang : alerts[0].lang];
  if (article && article.published_at) meta.push("published " + article.published_at);
  story.append(el("p", meta.filter(Boolean).join(" · "), "meta"));
  const url = article ? article.url : alerts[0].url;
  if (url && /^https?:\/\//i.test(url)) {
    const link = el("a", url);
    link.href = url;
    link.rel = "noopener noreferrer";
    story.append(link);
  }
  const themes = el("ul");
  const spans = [];
  for (const m of (article ? article.themes : [])) {
    themes.append(el("li", (m.name || m.theme) + " — score " + m.score));
    for (const e of m.evidence) spans.push({ start: e.start, end: e.end, label: m.theme + ": " + e.rule });
  }
  for (const a of alerts) {
    for (const e of a.evidence) spans.push({ start: e.start, end: e.end, label: a.theme + ": " + e.rule });
    if (!article) themes.append(el("li", (a.theme_name || a.theme) + " — " + a.kind));
  }
  story.append(themes);
  if (article) {
    story.append(highlighted(article.text, spans));
    if (article.text_truncated) story.append(el("p", "(text shortened)", "meta"));
  } else {
    story.append(el("p", "The tagged article is outside the dashboard's window; evidence offsets only.", "meta"));
  }
}

function route() {
  const match = /^#article=(.+)$/.exec(location.hash);
  if (match) showStory(decodeURIComponent(match[1]));
  else document.getElementById("story-section").hidden = true;
}

// ------------------------------------------------------------------ themes and feeds

function list(label, items) {
  return items && items.length ? label + " " + items.join(", ") : "";
}

async function loadThemes() {
  const themes = await getJSON("/api/themes");
  const box = document.getElementById("themes");
  if (!themes) return;
  box.replaceChildren();
  for (const t of themes) {
    const item = el("div", null, "theme");
    item.dataset.theme = t.id;
    item.append(el("h3", t.name + " (" + t.id + ")"), el("p", t.description));
    item.append(el("p", "threshold " + t.threshold + (t.exclude.length ? "; masks: " + t.exclude.join(", ") : ""), "meta"));
    const rules = el("ul");
    for (const r of t.rules) {
      const parts = [list("all of", r.all), list("any of", r.any), list("not", r.not)].filter(Boolean);
      if (r.near !== null && r.near !== undefined) parts.push("near " + r.near);
      parts.push("weight " + r.weight + (r.count > 1 ? " ×" + r.count : ""));
      rules.append(el("li", r.id + ": " + parts.join("; ")));
    }
    item.append(rules);
    const terms = el("details");
    terms.append(el("summary", Object.keys(t.terms).length + " term sets"));
    const termList = el("ul");
    for (const [name, words] of Object.entries(t.terms)) termList.append(el("li", name + ": " + words.join(", ")));
    terms.append(termList);
    item.append(terms);
    box.append(item);
  }
}

async function loadFeeds() {
  const feeds = await getJSON("/api/feeds");
  if (!feeds) return;
  const table = document.getElementById("feeds");
  document.getElementById("feeds-empty").hidden = feeds.length > 0;
  table.hidden = feeds.length === 0;
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const f of feeds) {
    const row = document.createElement("tr");
    if (f.outcome === "error" || f.outcome === "gone") row.classList.add("bad");
    if (f.stale) row.classList.add("stale");
    const cells = [
      [f.name || f.feed_url, "feed"], [f.outcome, "outcome"], [f.http_status ?? "", ""],
      [f.entries_published ?? 0, ""], [f.consecutive_failures ?? 0, ""], [shortTime(f.polled_at), "time"],
      [f.error || "", "error"],
    ];
    for (const [text, cls] of cells) row.append(el("td", text, cls));
    body.append(row);
  }
}

async function getJSON(url) {
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    return response.ok ? await response.json() : null;
  } catch (e) {
    return null;
  }
}

document.getElementById("story-close").addEventListener("click", () => { location.hash = ""; });
window.addEventListener("hashchange", route);
connect();
loadVolume();
loadThemes();
loadFeeds();
setInterval(loadVolume, 60000);
route();
