// The city's fleet view: every room's health from the central broker, refreshed every 5 s.
// Everything the rooms send is shown as text (textContent), never as markup.

const TEXT = {
  de: {
    title: "Podium – Räume der Stadt", lang: "Sprache", rooms: "Räume",
    caption: "Räume, die Aufmerksamkeit brauchen, zuerst", alarms: "Meldungen",
    noRooms: "Noch kein Raum gemeldet.", noAlarms: "Keine Meldungen seit dem Start.",
    col: { room: "Raum", state: "Zustand", meeting: "Sitzung", devices: "Geräte", journal: "Protokoll",
      clock: "Uhr", disk: "Speicher frei", version: "Version, Laufzeit", console: "Technik" },
    trouble: { offline: "nicht erreichbar", critical: "kritisch", warning: "Warnung", ok: "in Ordnung", unknown: "unbekannt" },
    connected: "Mit dem zentralen Broker verbunden", disconnected: "Zentraler Broker nicht erreichbar – Angaben können veraltet sein",
    unreachable: "Fleet-Ansicht nicht erreichbar", noMeeting: "keine Sitzung", open: "läuft", suspended: "unterbrochen",
    item: "TOP", nonPublic: "nichtöffentlich", devicesOf: (online, total) => `${online} von ${total} erreichbar`,
    journal: { ok: "schreibt", degraded: "gestört", unavailable: "nicht verfügbar", disabled: "aus" },
    clock: { true: "synchron", false: "nicht synchron", null: "unbekannt" },
    uplink: "Verbindung zur Stadt unterbrochen", podiumdDown: "podiumd nicht erreichbar",
    console: "Technikkonsole", uptime: (h) => `seit ${h} h`,
    severity: { warning: "Warnung", critical: "kritisch", cleared: "behoben" },
  },
  en: {
    title: "Podium – the city's rooms", lang: "Language", rooms: "Rooms",
    caption: "Rooms that need attention first", alarms: "Alarms",
    noRooms: "No room has reported yet.", noAlarms: "No alarms since start.",
    col: { room: "Room", state: "State", meeting: "Meeting", devices: "Devices", journal: "Journal",
      clock: "Clock", disk: "Disk free", version: "Version, uptime", console: "Technician" },
    trouble: { offline: "offline", critical: "critical", warning: "warning", ok: "ok", unknown: "unknown" },
    connected: "Connected to the central broker", disconnected: "Central broker unreachable – figures may be old",
    unreachable: "Fleet view unreachable", noMeeting: "no meeting", open: "running", suspended: "suspended",
    item: "item", nonPublic: "non-public", devicesOf: (online, total) => `${online} of ${total} answering`,
    journal: { ok: "writing", degraded: "degraded", unavailable: "unavailable", disabled: "off" },
    clock: { true: "synchronised", false: "not synchronised", null: "unknown" },
    uplink: "link to the city down", podiumdDown: "podiumd unreachable",
    console: "technician console", uptime: (h) => `for ${h} h`,
    severity: { warning: "warning", critical: "critical", cleared: "cleared" },
  },
};

const params = new URLSearchParams(location.search);
let lang = params.get("lang") === "en" ? "en" : "de";
const $ = (id) => document.getElementById(id);
const t = () => TEXT[lang];

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function labels() {
  const x = t();
  document.documentElement.lang = lang;
  document.title = x.title;
  $("title").textContent = x.title;
  $("lang-label").textContent = x.lang;
  $("lang").value = lang;
  $("h-rooms").textContent = x.rooms;
  $("rooms-caption").textContent = x.caption;
  $("h-alarms").textContent = x.alarms;
  $("no-rooms").textContent = x.noRooms;
  $("no-alarms").textContent = x.noAlarms;
  for (const [key, text] of Object.entries(x.col)) $(`col-${key}`).textContent = text;
}

function meeting(health) {
  const m = health?.meeting;
  if (!m) return t().noMeeting;
  const state = m.phase === "suspended" ? t().suspended : t().open;
  let text = `${m.title || ""} (${state})`;
  if (m.current_item) {
    const title = m.current_item.title || t().nonPublic;
    text += ` – ${t().item} ${m.current_item.number}: ${title}`;
  }
  return text;
}

function roomRow(room) {
  const h = room.health;
  const x = t();
  const row = document.createElement("tr");
  const name = el("th", h?.room?.name || room.id);
  name.scope = "row";
  name.append(el("div", room.id));
  row.append(name);
  const state = el("td");
  state.append(el("span", x.trouble[room.trouble] || room.trouble, `trouble trouble-${room.trouble}`));
  if (room.uplink === false) state.append(el("div", x.uplink));
  if (room.online === false) state.append(el("div", x.podiumdDown));
  row.append(state);
  row.append(el("td", h ? meeting(h) : ""));
  const counts = h?.devices;
  const devices = el("td", counts ? x.devicesOf(counts.online ?? "?", counts.total ?? "?") : "");
  if (Array.isArray(counts?.failing) && counts.failing.length) {
    const list = el("ul");
    for (const d of counts.failing) list.append(el("li", `${d?.name ?? "?"}${d?.error ? `: ${d.error}` : ""}`));
    devices.append(list);
  }
  row.append(devices);
  const journal = h?.journal?.state;
  row.append(el("td", journal ? (x.journal[journal] || journal) : ""));
  row.append(el("td", h ? (x.clock[String(h.clock_synchronized ?? null)] ?? "") : ""));
  row.append(el("td", typeof h?.disk?.free_percent === "number" ? `${h.disk.free_percent} %` : ""));
  const hours = Number.isFinite(h?.uptime_s) ? x.uptime(Math.floor(h.uptime_s / 3600)) : "";
  row.append(el("td", h ? [h.podiumd, hours].filter(Boolean).join(", ") : ""));
  const consoleCell = el("td");
  if (typeof h?.console_url === "string" && /^https?:\/\//.test(h.console_url)) {
    const link = el("a", x.console);
    link.href = h.console_url;
    link.rel = "noopener noreferrer";
    consoleCell.append(link);
  }
  row.append(consoleCell);
  return row;
}

function alarmItem(alarm) {
  const item = el("li");
  const when = new Date(Number(alarm.at_unix_ms));
  if (Number.isFinite(when.getTime())) {
    const time = el("time", when.toLocaleString(lang === "de" ? "de-DE" : "en-GB"));
    time.dateTime = when.toISOString();
    item.append(time, " ");
  }
  item.append(el("span", t().severity[alarm.severity] || alarm.severity, `severity-${alarm.severity}`));
  item.append(` ${alarm.room}: ${alarm.message || ""}`);
  return item;
}

let last = { rooms: [], connected: false, alarms: [], reachable: false };

function render() {
  labels();
  const x = t();
  $("conn").textContent = !last.reachable ? x.unreachable : last.connected ? x.connected : x.disconnected;
  // One room's odd document must not take the page down: it gets a row that says so.
  const safely = (render, item) => {
    try {
      return render(item);
    } catch {
      const row = el(item?.severity === undefined ? "tr" : "li");
      row.append(el(item?.severity === undefined ? "td" : "span", `${item?.id ?? item?.room ?? "?"}: ?`));
      return row;
    }
  };
  $("rooms").replaceChildren(...last.rooms.map((room) => safely(roomRow, room)));
  $("no-rooms").hidden = last.rooms.length > 0;
  $("alarms").replaceChildren(...last.alarms.map((alarm) => safely(alarmItem, alarm)));
  $("no-alarms").hidden = last.alarms.length > 0;
}

async function refresh() {
  try {
    const [rooms, alarms] = await Promise.all([
      fetch("/api/v1/rooms").then((r) => r.json()),
      fetch("/api/v1/alarms").then((r) => r.json()),
    ]);
    last = { rooms: rooms.rooms, connected: rooms.connected, alarms: alarms.alarms, reachable: true };
  } catch {
    last = { ...last, reachable: false };
  }
  render();
}

$("lang").addEventListener("change", (e) => {
  lang = e.target.value === "en" ? "en" : "de";
  const url = new URL(location.href);
  url.searchParams.set("lang", lang);
  history.replaceState(null, "", url);
  render();
});
render();
refresh();
setInterval(refresh, 5000);
