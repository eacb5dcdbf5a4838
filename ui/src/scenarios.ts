// Scenarios: up to five scenarios of the library (built-in presets and the analyst's saved
// ones, or the versions of one saved name) run on one portfolio, side by side — P/L, NAV
// after, the KPIs that change, the limits newly breached, what could not be priced, the
// shocks — each publishable to the shared database through the outbox, and a scenario ×
// position P/L heatmap of the positions that move most, whose cells trace which shock moved
// the position by how much.

import { commands, type ScenarioCompareDto } from "./bindings";
import { renderBuilder } from "./builder";
import { clear, el, errorBox } from "./dom";

const MAX = 5;

/** Red for losses, green for gains, stronger with the loss or gain as a share of the position. */
export function heatColour(share: number): string {
  const strength = Math.min(1, Math.abs(share) / 0.25);
  const alpha = (0.12 + 0.7 * strength).toFixed(2);
  return share < 0 ? `rgba(178, 24, 43, ${alpha})` : share > 0 ? `rgba(26, 127, 55, ${alpha})` : "transparent";
}

function render(
  screen: HTMLElement,
  d: ScenarioCompareDto,
  reload: (portfolio: string, scenarios: string[]) => void,
  published: () => void,
): void {
  const chosen = new Set(d.outcomes.map((o) => o.key));
  const portfolios = el(
    "div",
    { class: "segmented", role: "group", "aria-label": "Portfolio" },
    ...d.portfolios.map((code) => {
      const b = el("button", { type: "button", "aria-pressed": String(code === d.portfolio), "data-testid": `scen-portfolio-${code}` }, code);
      b.addEventListener("click", () => reload(code, [...chosen]));
      return b;
    }),
  );
  const note = el("span", { class: "muted small", role: "status", "data-testid": "scen-note" });
  const boxes = d.library.map((s) => {
    const box = el("input", { type: "checkbox", value: s.key, "data-testid": `scen-pick-${s.key}` });
    box.checked = chosen.has(s.key);
    box.addEventListener("change", () => {
      const picked = boxes.filter((b) => b.checked).length;
      note.textContent = picked > MAX ? `Compare at most ${MAX} scenarios (${picked} chosen).` : "";
      run.disabled = picked === 0 || picked > MAX;
    });
    return box;
  });
  const run = el("button", { type: "button", "data-testid": "scen-run" }, "Run");
  run.addEventListener("click", () =>
    reload(
      d.portfolio,
      boxes.filter((b) => b.checked).map((b) => b.value),
    ),
  );
  const savedActions = (key: string, version: number | null, versions: number | null): HTMLElement => {
    const duplicate = el("button", { type: "button", class: "small", "data-testid": `scen-duplicate-${key}` }, "duplicate");
    duplicate.addEventListener("click", () => {
      void (async () => {
        const copy = await commands.duplicateScenario(key, `${key} copy`);
        if (copy.status === "error") {
          note.textContent = copy.error.message;
          return;
        }
        reload(d.portfolio, [...chosen]);
      })();
    });
    // Two clicks to delete: the first arms the button.
    const remove = el("button", { type: "button", class: "small", "data-testid": `scen-delete-${key}` }, "delete");
    remove.addEventListener("click", () => {
      if (remove.dataset.armed !== "1") {
        remove.dataset.armed = "1";
        remove.textContent = "confirm delete";
        return;
      }
      void (async () => {
        const gone = await commands.deleteScenario(key);
        if (gone.status === "error") {
          note.textContent = gone.error.message;
          return;
        }
        reload(
          d.portfolio,
          [...chosen].filter((k) => k !== key),
        );
      })();
    });
    const versionText = version === null ? "" : ` v${version}${versions !== null && versions > 1 ? ` of ${versions}` : ""}`;
    if (version === null || versions === null || versions < 2) {
      return el("span", { class: "muted small" }, versionText, " ", duplicate, " ", remove);
    }
    // The latest versions of one name side by side (at most MAX, newest last).
    const compareVersions = el("button", { type: "button", class: "small", "data-testid": `scen-versions-${key}` }, "compare versions");
    compareVersions.addEventListener("click", () => {
      const first = Math.max(1, version - MAX + 1);
      reload(
        d.portfolio,
        Array.from({ length: version - first + 1 }, (_, i) => `${key}@${first + i}`),
      );
    });
    return el("span", { class: "muted small" }, versionText, " ", compareVersions, " ", duplicate, " ", remove);
  };
  const picker = el(
    "div",
    { class: "picker", "data-testid": "scen-library" },
    ...d.library.map((s, i) =>
      el(
        "span",
        { class: "pick" },
        el("label", { class: "pick" }, boxes[i], ` ${s.title}${s.kind === "saved" ? " (saved)" : ""}`),
        s.kind === "saved" ? savedActions(s.key, s.version, s.versions) : null,
      ),
    ),
  );

  // Publishing queues the definition and this run's results in the outbox; the next sync (or
  // `ballast outbox drain`) writes them to the shared database.
  const publishButton = (key: string, title: string): HTMLElement => {
    const b = el("button", { type: "button", class: "small", "data-testid": `scen-publish-${key}` }, "publish");
    b.addEventListener("click", () => {
      b.disabled = true;
      void (async () => {
        const queued = await commands.publishScenario(d.portfolio, key);
        if (queued.status === "error") {
          b.disabled = false;
          note.textContent = queued.error.message;
          return;
        }
        b.textContent = "queued";
        note.textContent = `${title} on ${d.portfolio} is waiting in the outbox; the next sync publishes it (Data screen).`;
        published();
      })();
    });
    return b;
  };
  const head = ["", ...d.outcomes.map((o) => o.title)];
  const line = (label: string, values: string[]): HTMLElement =>
    el("tr", {}, el("th", {}, label), ...values.map((v) => el("td", { class: "num" }, v)));
  const summary = el(
    "table",
    { "data-testid": "scen-summary" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el(
      "tbody",
      {},
      line("P/L", d.outcomes.map((o) => o.pnl)),
      line("P/L, % of NAV", d.outcomes.map((o) => o.pnlPct ?? "—")),
      line("Redeemed", d.outcomes.map((o) => o.redeemed)),
      line("NAV after", d.outcomes.map((o) => o.navAfter)),
      line("KPIs that change", d.outcomes.map((o) => o.kpis.join("\n") || "—")),
      line("Newly breached limits", d.outcomes.map((o) => o.newlyBreached.join(", ") || "none")),
      line("Not priced", d.outcomes.map((o) => (o.unpriced.length === 0 ? "—" : o.unpriced.join("\n")))),
      line("Shocks", d.outcomes.map((o) => o.shocks.join("\n") || "none")),
      el("tr", {}, el("th", {}, "Shared database"), ...d.outcomes.map((o) => el("td", {}, publishButton(o.key, o.title)))),
    ),
  );
  // Which shock moved a position, by how much: shown when a heatmap cell is chosen.
  const trace = el("div", { class: "trace", "data-testid": "scen-trace" }, el("p", { class: "muted small" }, "Choose a cell to see which shocks moved the position."));
  const showTrace = (row: (typeof d.positions)[number], i: number): void => {
    const outcome = d.outcomes[i];
    const lines = row.trace[i] ?? [];
    trace.replaceChildren(
      el("p", {}, el("strong", {}, `${row.symbol} under ${outcome?.title ?? ""}`), ` · value ${row.marketValue} · P/L ${row.pnl[i] ?? ""}`),
      lines.length === 0
        ? el("p", { class: "muted small" }, "No shock of this scenario moves the position.")
        : el("ul", { "data-testid": "scen-trace-lines" }, ...lines.map((t) => el("li", {}, t))),
    );
  };
  const heatmap = el(
    "table",
    { "data-testid": "scen-heatmap", class: "heatmap-table" },
    el("thead", {}, el("tr", {}, el("th", {}, "Position"), el("th", {}, "Value"), ...d.outcomes.map((o) => el("th", {}, o.title)))),
    el(
      "tbody",
      {},
      ...d.positions.map((p) =>
        el(
          "tr",
          {},
          el("td", {}, p.symbol),
          el("td", { class: "num" }, p.marketValue),
          ...p.pnl.map((v, i) => {
            const cell = el(
              "td",
              {
                class: "num heat",
                title: [`${((p.pnlPct[i] ?? 0) * 100).toFixed(2)}% of the position`, ...(p.trace[i] ?? [])].join("\n"),
                tabindex: "0",
                "data-testid": "scen-cell",
              },
              v,
            );
            cell.addEventListener("click", () => showTrace(p, i));
            cell.addEventListener("keydown", (e) => {
              if (e.key === "Enter" || e.key === " ") showTrace(p, i);
            });
            // Through the CSSOM: the content security policy refuses inline style attributes.
            cell.style.background = heatColour(p.pnlPct[i] ?? 0);
            return cell;
          }),
        ),
      ),
    ),
  );
  clear(screen);
  screen.append(
    el("h1", {}, "Scenarios"),
    portfolios,
    el("p", { class: "muted small" }, `Choose up to ${MAX} scenarios to compare on ${d.portfolio}.`),
    picker,
    el("div", { class: "inline" }, run, note),
    el(
      "p",
      { "data-testid": "scen-caption" },
      `${d.portfolio} · NAV ${d.nav} as of ${d.asOf} · ${d.outcomes.length} scenarios · computed in ${d.computeTime}`,
    ),
    summary,
    el("h2", {}, "P/L by position (the positions that move most)"),
    heatmap,
    trace,
  );
  renderMonteCarlo(screen, d.portfolio);
  renderBuilder(screen, d.portfolio, (key) => {
    const next = [...chosen];
    if (next.length >= MAX) next.pop();
    reload(d.portfolio, [...next, key]);
  });
}

/** Monte Carlo VaR and ES at 95% and 99% over a chosen horizon, reproducible (fixed seed). */
function renderMonteCarlo(screen: HTMLElement, portfolio: string): void {
  const horizon = el("input", { type: "number", min: "1", step: "1", value: "10", "data-testid": "mc-horizon", class: "narrow" });
  const method = el("select", { "data-testid": "mc-method", "aria-label": "Method" });
  method.append(
    el("option", { value: "cholesky" }, "covariance of the history (Cholesky)"),
    el("option", { value: "bootstrap" }, "bootstrap of whole days"),
  );
  const run = el("button", { type: "button", "data-testid": "mc-run" }, "Simulate");
  const out = el("div", { "data-testid": "mc-result" });
  run.addEventListener("click", () => {
    void (async () => {
      const days = Number(horizon.value);
      if (!Number.isInteger(days) || days < 1) {
        out.replaceChildren(errorBox("The horizon is a whole number of trading days, at least 1."));
        return;
      }
      run.disabled = true;
      out.replaceChildren(el("p", { class: "muted" }, "Simulating…"));
      const result = await commands.monteCarlo(portfolio, days, method.value);
      run.disabled = false;
      if (result.status === "error") {
        out.replaceChildren(errorBox(result.error.message));
        return;
      }
      const m = result.data;
      out.replaceChildren(
        el("p", { class: "small" }, m.summary),
        el(
          "table",
          { "data-testid": "mc-table" },
          el("thead", {}, el("tr", {}, ...["Confidence", "VaR", "VaR amount", "Expected shortfall", "ES amount"].map((h) => el("th", {}, h)))),
          el(
            "tbody",
            {},
            ...m.levels.map((l) =>
              el(
                "tr",
                {},
                el("td", {}, l.confidence),
                el("td", { class: "num loss" }, l.var),
                el("td", { class: "num" }, l.varAmount),
                el("td", { class: "num loss" }, l.es),
                el("td", { class: "num" }, l.esAmount),
              ),
            ),
          ),
        ),
        ...(m.riskless.length > 0 ? [el("p", { class: "muted small" }, `Held as riskless (no price history): ${m.riskless.join(", ")}`)] : []),
      );
    })();
  });
  screen.append(
    el("h2", {}, "Monte Carlo VaR and expected shortfall"),
    el("div", { class: "inline" }, el("span", {}, "Horizon (trading days)"), horizon, method, run),
    out,
  );
}

export async function renderScenarios(root: HTMLElement, published: () => void): Promise<void> {
  const screen = el("section", { "data-testid": "screen-scenarios", class: "screen" }, el("h1", {}, "Scenarios"));
  root.append(screen);
  const load = async (portfolio: string | null, scenarios: string[]): Promise<void> => {
    const result = await commands.scenarioCompare(portfolio, scenarios);
    if (result.status === "error") {
      screen.append(errorBox(result.error.message));
      return;
    }
    render(screen, result.data, (p, s) => void load(p, s), published);
  };
  await load(null, []);
}
