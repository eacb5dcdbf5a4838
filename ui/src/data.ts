// Data: where the workspace's numbers came from, how old each table is, and the sync history.

import { commands } from "./bindings";
import { el, errorBox } from "./dom";
import { ageText, isStale, localTime } from "./freshness";

export async function renderData(root: HTMLElement): Promise<void> {
  const screen = el("section", { "data-testid": "screen-data", class: "screen" }, el("h1", {}, "Data"));
  root.append(screen);
  const result = await commands.dataStatus();
  if (result.status === "error") {
    screen.append(errorBox(result.error.message));
    return;
  }
  const { source, tables, runs } = result.data;
  screen.append(
    el(
      "p",
      {},
      source
        ? `Source: ${source.label} (${source.kind}), loaded ${localTime(source.loadedAt)} — ${ageText(source.loadedAt)}`
        : "No data loaded yet.",
    ),
  );
  const tableRows = tables.map((t) =>
    el(
      "tr",
      { class: isStale(t.lastSyncedAt) ? "stale" : "" },
      el("td", {}, t.table),
      el("td", { class: "num" }, t.rows.toLocaleString()),
      el("td", {}, `${ageText(t.lastSyncedAt)}${isStale(t.lastSyncedAt) ? " (stale)" : ""}`),
    ),
  );
  screen.append(
    el("h2", {}, "Tables"),
    el(
      "table",
      { "data-testid": "freshness-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Table"), el("th", {}, "Rows"), el("th", {}, "Loaded"))),
      el("tbody", {}, ...tableRows),
    ),
  );
  const runRows = runs.map((r) =>
    el(
      "tr",
      { class: r.status === "failed" ? "failed" : "" },
      el("td", {}, localTime(r.startedAt)),
      el("td", {}, r.status),
      el("td", { class: "num" }, r.rowsIn.toLocaleString()),
      el("td", {}, r.error ?? ""),
    ),
  );
  screen.append(
    el("h2", {}, "Sync history"),
    runs.length === 0
      ? el("p", { class: "muted" }, "No sync has run yet. Set a Postgres connection in Settings.")
      : el(
          "table",
          { "data-testid": "sync-history" },
          el(
            "thead",
            {},
            el("tr", {}, el("th", {}, "Started"), el("th", {}, "Status"), el("th", {}, "Rows"), el("th", {}, "Error")),
          ),
          el("tbody", {}, ...runRows),
        ),
  );
}
