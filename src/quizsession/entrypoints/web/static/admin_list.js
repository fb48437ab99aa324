// The administrator page's list of attempts: one row per attempt, sorted,
// filtered by state and searched by name on the page (the whole list of the quiz
// is loaded), plus the results table of the submitted ones.

import { lastSeenText, scoreText, stateText, timeLeftText } from "./admin_format.js";
import { filterAttempts, nextSort, sortAttempts, STATE_GROUPS } from "./admin_rules.js";
import { $ } from "./admin_session.js";
import { el } from "./api.js";
import { formatScore } from "./format.js";

const COLUMNS = [
  ["Candidate", ""],
  ["State", ""],
  ["Time left", "num"],
  ["Connection", ""],
  ["Last seen", ""],
  ["Answered", "num"],
  ["Score", "num"],
];

const view = {
  all: [], // every LiveAttempt of the quiz, as last loaded
  now: 0, // the server's time of that load
  byId: new Map(),
  rows: new Map(), // attempt id -> <tr>
  sort: { key: "name", direction: "ascending" },
  group: "all",
  search: "",
  selected: null,
  onManage: () => {},
};

export function nameOf(a) {
  return a.candidate_name || a.candidate_id;
}

/** The attempt `id` as last loaded (undefined if gone). */
export function attemptById(id) {
  return view.byId.get(id);
}

export function serverNow() {
  return view.now;
}

export function setSelected(id) {
  view.selected = id;
  for (const [rowId, tr] of view.rows) tr.classList.toggle("selected", rowId === id);
}

/** Forget the list (another quiz, or signed out). */
export function clearList() {
  view.all = [];
  view.byId = new Map();
  view.rows = new Map();
  view.selected = null;
  $("attempts-body").replaceChildren();
  $("results-body").replaceChildren();
  $("attempts-count").textContent = "";
}

/** Show `list` (the server's time `now`, seconds). */
export function renderList(list, now) {
  view.all = list;
  view.now = now;
  view.byId = new Map(list.map((a) => [a.attempt_id, a]));
  for (const [id, tr] of view.rows) {
    if (!view.byId.has(id)) {
      tr.remove();
      view.rows.delete(id);
    }
  }
  for (const a of list) updateRow(a);
  arrange();
  renderResults(list);
}

function arrange() {
  const shown = sortAttempts(
    filterAttempts(view.all, { group: view.group, search: view.search }),
    view.sort.key,
    view.sort.direction,
  );
  const body = $("attempts-body");
  const wanted = shown.map((a) => view.rows.get(a.attempt_id));
  const current = Array.from(body.children);
  const same = current.length === wanted.length && current.every((tr, i) => tr === wanted[i]);
  if (!same) {
    const focused = document.activeElement;
    body.replaceChildren(...wanted);
    if (focused && focused !== document.activeElement && body.contains(focused)) focused.focus();
  }
  const empty = $("attempts-empty");
  empty.hidden = shown.length > 0;
  empty.textContent = view.all.length ? "No attempt matches the state and name chosen." : "No attempts yet.";
  const total = view.all.length;
  const count =
    shown.length === total
      ? `${total} attempt${total === 1 ? "" : "s"}.`
      : `Showing ${shown.length} of ${total} attempts.`;
  const status = $("attempts-count");
  if (status.textContent !== count) status.textContent = count;
  for (const th of document.querySelectorAll("#attempts-table th[data-sort]")) {
    const on = th.dataset.sort === view.sort.key;
    if (on) th.setAttribute("aria-sort", view.sort.direction);
    else th.removeAttribute("aria-sort");
  }
}

function updateRow(a) {
  let tr = view.rows.get(a.attempt_id);
  if (!tr) {
    tr = el("tr", { "data-attempt": a.attempt_id });
    const cells = COLUMNS.map(([label, cls]) => el("td", { "data-label": label, class: cls }));
    const manage = el("button", {
      type: "button",
      class: "button small",
      text: "Manage",
      onclick: () => view.onManage(a.attempt_id),
    });
    tr.append(...cells, el("td", { class: "actions-cell" }, manage));
    view.rows.set(a.attempt_id, tr);
  }
  const name = nameOf(a);
  const cells = tr.children;
  setCell(cells[0], name, a.candidate_name ? a.candidate_id : "");
  setText(cells[1], stateText(a));
  setText(cells[2], timeLeftText(a));
  setBadge(cells[3], a.connected);
  setText(cells[4], lastSeenText(a.last_seen, view.now));
  setText(cells[5], `${a.answered} / ${a.total}`);
  setText(cells[6], scoreText(a));
  const manage = tr.lastElementChild.firstElementChild;
  const label = `Manage the attempt of ${name}`;
  if (manage.getAttribute("aria-label") !== label) manage.setAttribute("aria-label", label);
  tr.classList.toggle("selected", a.attempt_id === view.selected);
}

function setText(cell, text) {
  if (cell.textContent !== text) cell.textContent = text;
}

function setCell(cell, main, sub) {
  const key = `${main}\u0000${sub}`;
  if (cell.dataset.key === key) return;
  cell.dataset.key = key;
  const box = el("div", { class: "who" }, el("span", { text: main }));
  if (sub) box.append(el("br"), el("span", { class: "muted small", text: sub }));
  cell.replaceChildren(box);
}

function setBadge(cell, connected) {
  const key = connected ? "on" : "off";
  if (cell.dataset.key === key) return;
  cell.dataset.key = key;
  cell.replaceChildren(
    el("span", { class: `badge ${key}`, text: connected ? "Connected" : "Not connected" }),
  );
}

function renderResults(list) {
  const done = list
    .filter((a) => a.status === "submitted" && a.score !== null && a.score !== undefined)
    .sort((x, y) => (y.score ?? 0) - (x.score ?? 0));
  $("results-body").replaceChildren(
    ...done.map((a) =>
      el(
        "tr",
        {},
        el("td", { "data-label": "Candidate", text: nameOf(a) }),
        el("td", { "data-label": "Candidate id", text: a.candidate_id }),
        el("td", {
          "data-label": "Score",
          class: "num",
          text: a.pending ? "pending" : formatScore(a.score),
        }),
        el("td", { "data-label": "Out of", class: "num", text: formatScore(a.max_score) }),
        el("td", {
          "data-label": "Percent",
          class: "num",
          text: a.max_score && !a.pending ? `${Math.round((a.score / a.max_score) * 100)} %` : "–",
        }),
      ),
    ),
  );
  $("results-empty").hidden = done.length > 0;
}

/** Wire the sort buttons, the state filter and the search field. */
export function bindList({ onManage }) {
  view.onManage = onManage;
  const select = $("state-filter");
  select.replaceChildren(...STATE_GROUPS.map(([value, text]) => el("option", { value, text })));
  select.addEventListener("change", () => {
    view.group = select.value;
    arrange();
  });
  $("name-search").addEventListener("input", (event) => {
    view.search = event.target.value;
    arrange();
  });
  for (const th of document.querySelectorAll("#attempts-table th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => {
      view.sort = nextSort(view.sort, th.dataset.sort);
      arrange();
    });
  }
}

/** Back to the whole list, by name (another quiz was chosen). */
export function resetListControls() {
  view.sort = { key: "name", direction: "ascending" };
  view.group = "all";
  view.search = "";
  $("state-filter").value = "all";
  $("name-search").value = "";
}
