// The explorer's page. Every value from the database reaches the page as text (text nodes and
// attribute values set one by one): nothing is parsed as HTML.

const main = document.getElementById("main");
let session = { allowWrites: false, token: null, aggregates: [] };
// What the current view started (timers, live streams), undone when the view changes.
let teardown = [];

/** Builds an element: `props` are set as properties (on* handlers, value) or attributes; strings become text. */
function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") || name === "value") element[name] = value;
    // Styles go through the CSSOM: the page's policy refuses style attributes.
    else if (name === "style") Object.assign(element.style, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function svg(tag, attributes = {}) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

async function api(path, params = {}, init = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== ""));
  const response = await fetch(`/api/${path}?${query}`, init);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`);
  return body;
}

const write = (path, params) => api(path, params, { method: "POST", headers: { "x-meowmx-token": session.token ?? "" } });

/** A hash link: `#/view?name=value`. */
function link(view, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value !== undefined && value !== ""));
  return `#/${view}${query.size > 0 ? `?${query}` : ""}`;
}

const time = (value) => (value ? new Date(value).toLocaleString() : "");
const errorBox = (error) => h("div", { class: "error", role: "alert" }, error instanceof Error ? error.message : String(error));

/** A JSON value as a tree whose objects and arrays fold; open to `depth` levels. */
function tree(value, depth = 1) {
  return h("div", { class: "tree mono" }, node(value, depth));
}

function node(value, depth) {
  if (value === null || typeof value !== "object") {
    const kind = value === null ? "null" : typeof value;
    return h("span", { class: kind }, kind === "string" ? JSON.stringify(value) : String(value));
  }
  const entries = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  if (entries.length === 0) return h("span", { class: "muted" }, Array.isArray(value) ? "[]" : "{}");
  const count = (noun) => `${entries.length} ${noun}${entries.length === 1 ? "" : "s"}`;
  const label = Array.isArray(value) ? `[${count("item")}]` : `{${count("key")}}`;
  return h(
    "details",
    { open: depth > 0 },
    h("summary", {}, label),
    entries.map(([key, item]) => h("div", { class: "row" }, h("span", { class: "key" }, String(key)), ": ", node(item, depth - 1))),
  );
}

function table(headers, rows, empty = "nothing here yet") {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, headers.map((header) => h("th", { class: header.endsWith("#") ? "num" : undefined }, header.replace(/#$/, ""))))),
    h("tbody", {}, rows.length > 0 ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, empty))),
  );
}

const num = (value) => h("td", { class: "num" }, Number(value).toLocaleString());

// ---- Streams -----------------------------------------------------------------------------------

async function streamsView(params) {
  const categories = await api("categories");
  const type = params.get("type");
  const list = h("div", {});
  const view = [
    h("h1", {}, "Categories"),
    table(
      ["Category", "Streams#", "Events#", "Last change"],
      categories.map((category) =>
        h("tr", {}, h("td", {}, h("a", { href: link("streams", { type: category.aggregateType }) }, category.aggregateType)), num(category.streams), num(category.events), h("td", {}, time(category.lastChange))),
      ),
      "no events yet",
    ),
    list,
  ];
  if (type) await streamList(list, type, params.get("search") ?? "", Number(params.get("offset") ?? 0));
  return view;
}

async function streamList(container, type, search, offset) {
  const limit = 50;
  const page = await api("streams", { type, search, offset, limit });
  const input = h("input", { type: "search", placeholder: "stream id contains…", value: search, "aria-label": "search by stream id" });
  const go = (newOffset) => (location.hash = link("streams", { type, search: input.value, offset: newOffset || undefined }));
  container.append(
    h("h2", {}, `Streams of ${type}`),
    h("form", { class: "toolbar", onsubmit: (event) => (event.preventDefault(), go(0)) }, input, h("button", { type: "submit" }, "Search"), h("span", { class: "muted" }, `${page.total.toLocaleString()} streams`)),
    table(
      ["Stream id", "Version#", "Created", "Last change"],
      page.streams.map((stream) =>
        h("tr", {}, h("td", { class: "mono" }, h("a", { href: link("stream", { type, id: stream.aggregateId }) }, stream.aggregateId)), num(stream.version), h("td", {}, time(stream.createdAt)), h("td", {}, time(stream.updatedAt))),
      ),
      "no stream matches",
    ),
    h(
      "div",
      { class: "pager" },
      h("button", { class: "plain", disabled: offset === 0, onclick: () => go(Math.max(0, offset - limit)) }, "Previous"),
      h("span", { class: "muted" }, page.total === 0 ? "" : `${offset + 1}–${Math.min(offset + limit, page.total)} of ${page.total.toLocaleString()}`),
      h("button", { class: "plain", disabled: offset + limit >= page.total, onclick: () => go(offset + limit) }, "Next"),
    ),
  );
}

async function streamView(params) {
  const type = params.get("type");
  const id = params.get("id");
  const from = Number(params.get("from") ?? 1);
  const limit = 100;
  const stream = await api("stream", { type, id, from, limit });
  const rows = stream.events.map((event) => eventRow(event));
  const pager = h(
    "div",
    { class: "pager" },
    h("button", { class: "plain", disabled: from <= 1, onclick: () => (location.hash = link("stream", { type, id, from: Math.max(1, from - limit) })) }, "Earlier"),
    h("span", { class: "muted" }, stream.events.length === 0 ? "" : `versions ${stream.events[0].version}–${stream.events.at(-1).version} of ${stream.version}`),
    h("button", { class: "plain", disabled: from + limit > stream.version, onclick: () => (location.hash = link("stream", { type, id, from: from + limit })) }, "Later"),
  );
  const events = h("div", {}, table(["Version#", "Type", "Time", "Position", "Schema#", "Data", "Metadata"], rows, "this stream has no events"), pager);
  return [
    h("h1", {}, h("a", { href: link("streams", { type }) }, type), " / ", h("span", { class: "mono" }, id), h("span", { class: "muted" }, `  version ${stream.version}`)),
    stream.hasDefinition ? h("div", { class: "columns" }, events, await statePanel(type, id, stream.version)) : [h("div", { class: "note" }, `No definition of ${type} in the config file: the state is not shown.`), events],
  ];
}

function eventRow(event) {
  const correlationId = event.metadata?.correlationId;
  return h(
    "tr",
    { "data-position": event.position },
    num(event.version),
    h("td", {}, event.type),
    h("td", {}, time(event.createdAt)),
    h("td", { class: "mono" }, event.position),
    num(event.schemaVersion),
    h("td", {}, tree(event.data, 0)),
    h("td", {}, tree(event.metadata, 0), typeof correlationId === "string" ? h("a", { href: link("trace", { correlationId }) }, "trace") : null),
  );
}

/** The aggregate's state folded up to a chosen version: time travel through the stream. */
async function statePanel(type, id, version) {
  const output = h("div", {});
  const slider = h("input", { type: "range", min: 1, max: Math.max(1, version), value: version, "aria-label": "state at version" });
  const label = h("strong", {}, `at version ${version}`);
  const show = async () => {
    label.textContent = `at version ${slider.value}`;
    try {
      const folded = await api("state", { type, id, version: slider.value });
      output.replaceChildren(tree(folded.state, 3));
    } catch (error) {
      output.replaceChildren(errorBox(error));
    }
  };
  slider.oninput = show;
  await show();
  return h("div", { class: "panel" }, h("h2", {}, "State ", label), slider, output);
}

// ---- Live log ----------------------------------------------------------------------------------

async function liveView(params) {
  const type = params.get("type") ?? "";
  const categories = await api("categories");
  const recent = await api("events", { type, limit: 50 });
  const body = h("tbody", {}, recent.map(liveRow));
  const dot = h("span", { class: "live-dot" });
  const state = h("span", { class: "muted" }, "connecting…");
  const filter = h(
    "select",
    { "aria-label": "category", onchange: () => (location.hash = link("live", { type: filter.value })) },
    h("option", { value: "" }, "all categories"),
    categories.map((category) => h("option", { value: category.aggregateType }, category.aggregateType)),
  );
  filter.value = type;
  const live = new EventSource(`/api/live?${new URLSearchParams({ type, after: recent[0]?.position ?? "" })}`);
  live.onopen = () => (dot.classList.add("on"), (state.textContent = "live"));
  live.onerror = () => (dot.classList.remove("on"), (state.textContent = "reconnecting…"));
  live.onmessage = (message) => {
    body.prepend(liveRow(JSON.parse(message.data)));
    while (body.children.length > 500) body.lastChild.remove();
  };
  teardown.push(() => live.close());
  return [
    h("h1", {}, "Live log"),
    h("div", { class: "toolbar" }, filter, dot, state, h("span", { class: "muted" }, "newest first; new events appear as they commit")),
    h("table", { id: "live" }, h("thead", {}, h("tr", {}, ["Position", "Stream", "Version", "Type", "Time", "Data"].map((name) => h("th", {}, name)))), body),
  ];
}

function liveRow(event) {
  return h(
    "tr",
    { "data-position": event.position },
    h("td", { class: "mono" }, event.position),
    h("td", { class: "mono" }, h("a", { href: link("stream", { type: event.aggregateType, id: event.aggregateId }) }, `${event.aggregateType}/${event.aggregateId}`)),
    num(event.version),
    h("td", {}, event.type),
    h("td", {}, time(event.createdAt)),
    h("td", {}, tree(event.data, 0)),
  );
}

// ---- Subscriptions -----------------------------------------------------------------------------

const COLORS = ["#4f46e5", "#12b76a", "#f79009", "#d92d20", "#0ba5ec", "#7a5af8", "#667085"];

async function subscriptionsView() {
  const container = h("div", {});
  const refresh = async () => container.replaceChildren(...(await subscriptionsContent()).filter(Boolean));
  await refresh();
  const timer = setInterval(() => refresh().catch((error) => container.replaceChildren(errorBox(error))), 2000);
  teardown.push(() => clearInterval(timer));
  return [h("h1", {}, "Subscriptions"), container];
}

async function subscriptionsContent() {
  const { rows, history } = await api("subscriptions");
  const names = [...new Set(rows.map((row) => row.name))];
  return [
    table(
      ["Subscription", "Partition", "Position", "Lag#", "Owner", "Lease until", "Held back by", "Parked#", "Last error"],
      rows.map((row) =>
        h(
          "tr",
          {},
          h("td", {}, row.name),
          h("td", {}, row.partitions > 1 ? `${row.partition} of ${row.partitions}` : "—"),
          h("td", { class: "mono" }, row.position || "start"),
          num(row.lag),
          h("td", { class: "mono" }, row.owner ?? h("span", { class: "muted" }, "no worker")),
          h("td", {}, time(row.leaseUntil)),
          h("td", {}, row.heldBackBy ? `pid ${row.heldBackBy.pid ?? "?"} since ${time(row.heldBackBy.since)}` : ""),
          h("td", { class: "num" }, row.parked > 0 ? h("a", { href: link("parked", { name: row.name }) }, String(row.parked)) : "0"),
          h("td", { class: "bad" }, row.lastError ?? ""),
        ),
      ),
      "no subscriptions yet",
    ),
    h("h2", {}, "Lag over the last minutes"),
    history.error ? errorBox(history.error) : null,
    h("div", { class: "panel" }, lagChart(history.samples, names)),
  ];
}

function lagChart(samples, names) {
  if (samples.length < 2 || names.length === 0) return h("span", { class: "muted" }, "the chart fills as the explorer samples the lag every 5 seconds");
  const width = 1000;
  const height = 140;
  const start = new Date(samples[0].at).getTime();
  const span = Math.max(1, new Date(samples.at(-1).at).getTime() - start);
  const top = Math.max(1, ...samples.flatMap((sample) => Object.values(sample.lags)));
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img", "aria-label": "lag chart" });
  names.forEach((name, index) => {
    const points = samples.map((sample) => `${(((new Date(sample.at).getTime() - start) / span) * width).toFixed(1)},${(height - 4 - ((sample.lags[name] ?? 0) / top) * (height - 8)).toFixed(1)}`);
    chart.append(svg("polyline", { points: points.join(" "), stroke: COLORS[index % COLORS.length] }));
  });
  const legend = h("div", { class: "legend" }, names.map((name, index) => h("span", {}, h("i", { style: { background: COLORS[index % COLORS.length] } }), name)));
  return h("div", {}, chart, legend, h("div", { class: "muted" }, `peak ${top.toLocaleString()} events behind; ${time(samples[0].at)} – ${time(samples.at(-1).at)}`));
}

async function parkedView(params) {
  const name = params.get("name");
  const [parked, { replayable }] = await Promise.all([api("parked", { name }), api("subscriptions")]);
  const list = h("div", {}, parkedTable(parked));
  const status = h("div", {});
  let action;
  if (!session.allowWrites) action = h("div", { class: "note" }, "Replaying needs writes: start the explorer with --allow-writes.");
  else if (!replayable.includes(name)) action = h("div", { class: "note" }, `${name} is not in the config file: its handler is needed to replay.`);
  else
    action = h(
      "button",
      {
        disabled: parked.length === 0,
        onclick: async (event) => {
          event.target.disabled = true;
          try {
            const { replayed } = await write("replay-parked", { name });
            status.replaceChildren(h("div", { class: "note good" }, `replayed ${replayed} parked events`));
          } catch (error) {
            status.replaceChildren(errorBox(error));
          }
          const left = await api("parked", { name });
          list.replaceChildren(parkedTable(left));
          event.target.disabled = left.length === 0;
        },
      },
      "Replay parked events",
    );
  return [h("h1", {}, h("a", { href: link("subscriptions") }, "Subscriptions"), " / ", name, " / parked"), h("div", { class: "toolbar" }, action), status, list];
}

function parkedTable(parked) {
  return table(
    ["Position", "Attempts#", "Parked at", "Error"],
    parked.map((event) => h("tr", {}, h("td", { class: "mono" }, event.position), num(event.attempts), h("td", {}, time(event.parkedAt)), h("td", { class: "bad" }, event.error))),
    "no parked events",
  );
}

// ---- Projections -------------------------------------------------------------------------------

async function projectionsView(params, projections) {
  projections ??= await api("projections");
  const rows = projections.map((projection) =>
    h(
      "tr",
      {},
      h("td", {}, h("a", { href: link("projection", { name: projection.name }) }, projection.name)),
      num(projection.keys),
      h("td", {}, projection.builtVersion ?? "—"),
      h("td", {}, projection.defined ? String(projection.definedVersion) : h("span", { class: "muted" }, "not in the config file")),
      h("td", {}, time(projection.lastChange)),
      h("td", {}, rebuildCell(projection)),
    ),
  );
  return [h("h1", {}, "Projections"), table(["Projection", "Keys#", "Built by version", "Defined version", "Last change", "Rebuild"], rows, "no projections yet")];
}

function rebuildCell(projection) {
  const run = projection.rebuild;
  const progress = run ? h("span", {}, h("span", { class: "progress" }, h("div", { style: { width: `${run.total > 0 ? Math.min(100, (100 * run.events) / run.total).toFixed(0) : 100}%` } })), ` ${run.events.toLocaleString()} of ${run.total.toLocaleString()} events`, run.state === "done" ? h("span", { class: "good" }, ` · done, ${run.result.keys} keys`) : null, run.state === "failed" ? h("span", { class: "bad" }, ` · failed: ${run.error}`) : null) : null;
  if (!session.allowWrites || !projection.defined) return progress ?? h("span", { class: "muted" }, session.allowWrites ? "not in the config file" : "needs --allow-writes");
  const running = run?.state === "running";
  const button = h(
    "button",
    {
      class: "plain",
      disabled: running,
      onclick: async () => {
        button.disabled = true;
        try {
          await write("rebuild", { name: projection.name });
          followRebuild();
        } catch (error) {
          button.replaceWith(errorBox(error));
        }
      },
    },
    "Rebuild",
  );
  if (running) followRebuild();
  return h("span", {}, button, " ", progress);
}

/** While a rebuild runs, the projections page redraws itself twice a second. */
function followRebuild() {
  if (teardown.some((undo) => undo.rebuild)) return;
  const timer = setInterval(async () => {
    const projections = await api("projections");
    main.replaceChildren(...(await projectionsView(undefined, projections)));
    if (!projections.some((projection) => projection.rebuild?.state === "running")) stop();
  }, 500);
  const stop = Object.assign(() => clearInterval(timer), { rebuild: true });
  teardown.push(stop);
}

async function projectionView(params) {
  const name = params.get("name");
  const after = params.get("after") ?? "";
  const limit = 50;
  const page = await api("projection-states", { name, after, limit });
  return [
    h("h1", {}, h("a", { href: link("projections") }, "Projections"), " / ", name),
    table(["Key", "State", "Position", "Updated"], page.map((row) => h("tr", {}, h("td", { class: "mono" }, row.key), h("td", {}, tree(row.state, 1)), h("td", { class: "mono" }, row.position), h("td", {}, time(row.updatedAt)))), "no states"),
    h(
      "div",
      { class: "pager" },
      h("button", { class: "plain", disabled: after === "", onclick: () => (location.hash = link("projection", { name })) }, "First"),
      h("button", { class: "plain", disabled: page.length < limit, onclick: () => (location.hash = link("projection", { name, after: page.at(-1).key })) }, "Next"),
    ),
  ];
}

// ---- Trace -------------------------------------------------------------------------------------

async function traceView(params) {
  const correlationId = params.get("correlationId") ?? "";
  const input = h("input", { value: correlationId, placeholder: "correlation id", size: 40, "aria-label": "correlation id" });
  const form = h("form", { class: "toolbar", onsubmit: (event) => (event.preventDefault(), (location.hash = link("trace", { correlationId: input.value }))) }, input, h("button", { type: "submit" }, "Show"));
  if (correlationId === "") return [h("h1", {}, "Trace"), form, h("div", { class: "note" }, "The events that share a correlation id, as a tree of what caused what (metadata.causationId).")];
  const events = await api("trace", { correlationId });
  const rows = events.map(({ event, depth }) =>
    h(
      "tr",
      {},
      h("td", {}, h("span", { class: "depth", style: { paddingLeft: `${depth * 22}px` } }, depth > 0 ? "↳ " : "", event.type)),
      h("td", { class: "mono" }, h("a", { href: link("stream", { type: event.aggregateType, id: event.aggregateId }) }, `${event.aggregateType}/${event.aggregateId}`), `@${event.version}`),
      h("td", {}, time(event.createdAt)),
      h("td", {}, tree(event.data, 0)),
    ),
  );
  return [h("h1", {}, "Trace"), form, table(["Event", "Stream", "Time", "Data"], rows, "no events carry this correlation id")];
}

// ---- Routing -----------------------------------------------------------------------------------

const VIEWS = { streams: streamsView, stream: streamView, live: liveView, subscriptions: subscriptionsView, parked: parkedView, projections: projectionsView, projection: projectionView, trace: traceView };
const TABS = { stream: "streams", parked: "subscriptions", projection: "projections" };

async function route() {
  for (const undo of teardown.splice(0)) undo();
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const name = VIEWS[path] ? path : "streams";
  for (const tab of document.querySelectorAll("nav a")) tab.classList.toggle("active", tab.dataset.tab === (TABS[name] ?? name));
  const shown = location.hash;
  try {
    const content = await VIEWS[name](new URLSearchParams(query));
    if (location.hash === shown) main.replaceChildren(...[content].flat(2).filter(Boolean));
  } catch (error) {
    if (location.hash === shown) main.replaceChildren(errorBox(error));
  }
}

session = await api("session");
document.getElementById("session").textContent = `${session.backend} · schema ${session.schema} · ${session.allowWrites ? "writes allowed" : "read-only"}`;
window.addEventListener("hashchange", route);
await route();
