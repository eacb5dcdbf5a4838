// Data: how fresh each table is, the sync history (rows in and deleted, verification, notes,
// errors), the outbox of writes waiting for the shared database, and the stale age.

import { commands, type OutboxItemDto } from "./bindings";
import { el, errorBox } from "./dom";
import { localTime } from "./freshness";

function table(testid: string, headers: string[], rows: HTMLElement[]): HTMLElement {
  return el(
    "table",
    { "data-testid": testid },
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows),
  );
}

function outboxRow(o: OutboxItemDto): HTMLElement {
  const next = o.nextAttemptAt ? `next try ${localTime(o.nextAttemptAt)}` : "";
  return el(
    "tr",
    { class: o.status === "dead" ? "failed" : "", "data-testid": "outbox-item" },
    el("td", {}, o.status),
    el("td", {}, o.summary),
    el("td", { class: "num" }, String(o.attempts)),
    el("td", {}, [next, o.lastError ?? ""].filter((t) => t).join(" · ")),
    el("td", {}, localTime(o.createdAt)),
  );
}

export async function renderData(root: HTMLElement, onChanged: () => void): Promise<void> {
  const screen = el("section", { "data-testid": "screen-data", class: "screen" }, el("h1", {}, "Data"));
  root.append(screen);
  const result = await commands.dataStatus();
  if (result.status === "error") {
    screen.append(errorBox(result.error.message));
    return;
  }
  const { source, freshness, tables, runs, outbox, outboxSent } = result.data;
  screen.append(
    el(
      "p",
      { "data-testid": "data-source", class: freshness.stale ? "stale" : "" },
      source
        ? `Source: ${source.label} (${source.kind}) — ${freshness.label}` +
            (freshness.stale ? ` — STALE: older than ${freshness.staleAfterHours} h` : "")
        : "No data loaded yet.",
    ),
  );

  const staleInput = el("input", {
    type: "number",
    min: "1",
    step: "1",
    value: String(freshness.staleAfterHours),
    "data-testid": "stale-hours",
    class: "narrow",
  });
  const staleSave = el("button", { type: "button", "data-testid": "stale-save" }, "Set");
  const staleNote = el("span", { class: "muted small", role: "status" });
  staleSave.addEventListener("click", () => {
    void (async () => {
      const hours = Number(staleInput.value);
      if (!Number.isInteger(hours) || hours < 1) {
        staleNote.textContent = "Enter a whole number of hours, at least 1.";
        return;
      }
      const saved = await commands.setStaleAfterHours(hours);
      staleNote.textContent = saved.status === "error" ? saved.error.message : "Saved.";
      onChanged();
    })();
  });
  screen.append(
    el("div", { class: "inline" }, el("span", {}, "Mark data stale after"), staleInput, el("span", {}, "hours"), staleSave, staleNote),
  );

  screen.append(
    el("h2", {}, "Tables"),
    table(
      "freshness-table",
      ["Table", "Rows", "Synced", "Verified"],
      tables.map((t) =>
        el(
          "tr",
          { class: t.stale ? "stale" : "" },
          el("td", {}, t.table),
          el("td", { class: "num" }, t.rows.toLocaleString()),
          el("td", { title: localTime(t.lastSyncedAt) }, `${t.age}${t.stale ? " (stale)" : ""}`),
          el("td", {}, t.verifiedAt ? localTime(t.verifiedAt) : "—"),
        ),
      ),
    ),
  );

  screen.append(
    el("h2", {}, "Sync history"),
    runs.length === 0
      ? el("p", { class: "muted" }, "No sync has run yet. Set a Postgres connection in Settings.")
      : table(
          "sync-history",
          ["Started", "Finished", "Status", "Rows in", "Deleted", "Verification", "Notes / error"],
          runs.map((r) =>
            el(
              "tr",
              { class: r.status === "failed" || r.status === "interrupted" ? "failed" : "" },
              el("td", {}, localTime(r.startedAt)),
              el("td", {}, r.finishedAt ? localTime(r.finishedAt) : ""),
              el("td", {}, r.status),
              el("td", { class: "num" }, r.rowsIn.toLocaleString()),
              el("td", { class: "num" }, r.rowsDeleted.toLocaleString()),
              el("td", {}, r.verification ?? ""),
              el("td", {}, [r.notes, r.error].filter((t) => t).join(" · ")),
            ),
          ),
        ),
  );

  // The outbox: what waits for the shared database, and a note to add to it.
  const retry = el("button", { type: "button", "data-testid": "outbox-retry" }, "Retry failed");
  retry.disabled = !outbox.some((o) => o.status === "dead");
  retry.addEventListener("click", () => {
    void (async () => {
      await commands.retryOutbox();
      onChanged();
      root.replaceChildren();
      await renderData(root, onChanged);
    })();
  });
  const portfolio = el("input", { type: "text", placeholder: "portfolio code", "data-testid": "note-portfolio", class: "narrow" });
  const symbol = el("input", { type: "text", placeholder: "asset symbol", "data-testid": "note-symbol", class: "narrow" });
  const body = el("input", { type: "text", placeholder: "note on the position", "data-testid": "note-body" });
  const add = el("button", { type: "button", "data-testid": "note-add" }, "Add note");
  const noteStatus = el("span", { class: "muted small", role: "status", "data-testid": "note-status" });
  add.addEventListener("click", () => {
    void (async () => {
      const queued = await commands.annotatePosition(portfolio.value.trim(), symbol.value.trim(), body.value);
      if (queued.status === "error") {
        noteStatus.textContent = queued.error.message;
        return;
      }
      onChanged();
      root.replaceChildren();
      await renderData(root, onChanged);
    })();
  });
  screen.append(
    el("h2", {}, `Outbox (${outbox.length} waiting, ${outboxSent} sent)`),
    el("p", { class: "muted small" }, "Delivered to the shared database after each sync; a delivery that fails is retried with backoff, then listed as failed."),
    outbox.length === 0
      ? el("p", { class: "muted", "data-testid": "outbox-empty" }, "Nothing waiting.")
      : table("outbox", ["Status", "What", "Attempts", "Next try / last error", "Written"], outbox.map(outboxRow)),
    el("div", { class: "inline" }, retry),
    el("div", { class: "inline" }, portfolio, symbol, body, add, noteStatus),
  );
}
