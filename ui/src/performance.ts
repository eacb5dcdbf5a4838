// Performance: the whole KPI catalogue of one portfolio over the chosen range, grouped as the
// conventions page groups it, each value with a tooltip giving its formula; the cumulative
// return, drawdown and rolling volatility charts (plotters, drawn by the backend); the worst
// drawdowns, exposure breakdowns, trading totals and risk limits. Changing the range asks the
// backend again and swaps the content in place, keeping the old numbers until the new arrive.

import {
  commands,
  type ExposureDto,
  type KpiDto,
  type LimitDto,
  type PerformanceDto,
  type TradingTotalsDto,
} from "./bindings";
import { clear, el, errorBox } from "./dom";

const RANGES: [string, string][] = [
  ["mtd", "MTD"],
  ["qtd", "QTD"],
  ["ytd", "YTD"],
  ["1y", "1Y"],
  ["3y", "3Y"],
  ["5y", "5Y"],
  ["si", "Since inception"],
];
const DOC = "docs/kpi-conventions.md";

/** The tooltip of a KPI: its formula from the conventions page, or why it is absent. */
export function kpiTooltip(kpi: KpiDto, scope: string): string {
  const formula = kpi.formula ? `\n${kpi.formula}` : "";
  const why = kpi.unavailableReason ? `\nNot available: ${kpi.unavailableReason}` : "";
  return `${kpi.label} (${scope})${formula}${why}\nConventions: ${DOC}#${kpi.key}`;
}

function signClass(display: string): string {
  return display.startsWith("+") ? "gain" : display.startsWith("-") ? "loss" : "";
}

function kpiRow(kpi: KpiDto, scope: string): HTMLElement {
  return el(
    "div",
    { class: "kpi", title: kpiTooltip(kpi, scope), "data-testid": `perf-kpi-${kpi.key.replaceAll("_", "-")}` },
    el("span", { class: "kpi-label" }, kpi.label),
    el(
      "span",
      { class: kpi.value === null ? "kpi-value na" : `kpi-value ${signClass(kpi.display)}` },
      kpi.display,
    ),
  );
}

export function limitsList(limits: LimitDto[], testid: string): HTMLElement | null {
  if (limits.length === 0) return null;
  const items = limits.map((l) => {
    const state = l.notEvaluable
      ? `not evaluable: ${l.notEvaluable}`
      : l.breached
        ? `BREACHED (${l.severity})`
        : "within limit";
    const cls = l.breached ? `limit breached ${l.severity}` : l.notEvaluable ? "limit na" : "limit ok";
    return el(
      "li",
      { class: cls, "data-testid": l.breached ? "limit-breach" : "limit" },
      el("span", { class: "limit-metric" }, l.metric.replaceAll("_", " ")),
      ` ${l.value} vs ${l.threshold} — ${state}`,
    );
  });
  return el("ul", { class: "limits", "data-testid": testid }, ...items);
}

function chart(svg: string, label: string, testid: string): HTMLElement {
  const figure = el("figure", { class: "chart", role: "img", "aria-label": label, "data-testid": testid });
  // The SVG comes from our own backend (plotters), not from user input.
  figure.innerHTML = svg;
  return figure;
}

function table(headers: string[], rows: (string | HTMLElement)[][], testid?: string): HTMLElement {
  return el(
    "table",
    { "data-testid": testid },
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))),
    el(
      "tbody",
      {},
      ...rows.map((r) => el("tr", {}, ...r.map((c, i) => el("td", { class: i === 0 ? "" : "num" }, c)))),
    ),
  );
}

function exposureSection(x: ExposureDto): HTMLElement {
  const breakdowns = x.breakdowns.map((b) =>
    el(
      "div",
      { class: "breakdown" },
      el("h3", {}, `By ${b.dimension}`),
      table(
        ["", "Net", "Gross", "Net / NAV"],
        b.buckets.slice(0, 12).map((k) => [k.name, k.net, k.gross, k.netWeight]),
      ),
    ),
  );
  const drift = x.drift.length
    ? el(
        "div",
        { class: "breakdown" },
        el("h3", {}, "Drift from target (asset class)"),
        table(
          ["", "Target", "Actual", "Drift"],
          x.drift.map((d) => [d.bucket, d.target, d.actual, d.drift]),
          "drift-table",
        ),
      )
    : null;
  return el(
    "section",
    { "data-testid": "exposure" },
    el("h2", {}, "Exposure at the last date"),
    el("p", { class: "muted" }, `NAV ${x.nav} · gross ${x.gross} · net ${x.net} · long ${x.long} · short ${x.short}`),
    el("div", { class: "breakdowns" }, ...breakdowns, drift),
  );
}

function tradingTotals(totals: TradingTotalsDto[]): HTMLElement | null {
  if (totals.length === 0) return null;
  return table(
    ["Currency", "Round trips", "Net P/L", "Gross profit", "Gross loss", "Fees"],
    totals.map((t) => [t.currency, String(t.roundTrips), t.netPl, t.grossProfit, t.grossLoss, t.fees]),
    "trading-totals",
  );
}

function render(target: HTMLElement, p: PerformanceDto): void {
  clear(target);
  const scope = p.from && p.to ? `${p.from} to ${p.to}` : "no returns in the range";
  target.append(
    el(
      "p",
      { class: "muted", "data-testid": "perf-summary" },
      `${p.label} · ${scope} · ${p.observations} daily returns` +
        `${p.benchmark ? ` · benchmark ${p.benchmark}` : " · no benchmark"} · computed in ${p.computeTime}`,
    ),
  );
  if (p.note) target.append(el("p", { class: "muted" }, p.note));
  const limits = limitsList(p.limits, "perf-limits");
  if (limits) target.append(el("h2", {}, "Risk limits (over this range)"), limits);
  target.append(
    el(
      "div",
      { class: "charts" },
      chart(p.cumulativeSvg, `Cumulative return of ${p.portfolio}`, "chart-cumulative"),
      chart(p.drawdownSvg, `Drawdown of ${p.portfolio}`, "chart-drawdown"),
      p.rollingVolatilitySvg ? chart(p.rollingVolatilitySvg, `Rolling volatility of ${p.portfolio}`, "chart-rolling") : null,
      p.rollingRiskAdjustedSvg
        ? chart(p.rollingRiskAdjustedSvg, `Rolling Sharpe and beta of ${p.portfolio}`, "chart-rolling-sharpe-beta")
        : null,
    ),
  );
  const groups = p.groups.map((g) =>
    el(
      "section",
      { class: "kpi-group", "data-testid": `group-${g.key.replaceAll("_", "-")}` },
      el("h2", {}, g.title),
      el("div", { class: "kpis wide" }, ...g.kpis.map((k) => kpiRow(k, scope))),
    ),
  );
  target.append(el("div", { class: "groups" }, ...groups));
  if (p.drawdowns.length) {
    target.append(
      el("h2", {}, "Worst drawdowns"),
      table(
        ["Depth", "Peak", "Trough", "Recovered", "Days"],
        p.drawdowns.map((d) => [d.depth, d.peak ?? "start", d.trough, d.recovery ?? "not yet", String(d.durationDays)]),
        "drawdowns-table",
      ),
    );
  }
  const totals = tradingTotals(p.tradingTotals);
  if (totals) target.append(el("h2", {}, "Trading P/L of closed round trips"), totals);
  if (p.exposure) target.append(exposureSection(p.exposure));
}

export async function renderPerformance(root: HTMLElement): Promise<void> {
  const screen = el("section", { "data-testid": "screen-performance", class: "screen" }, el("h1", {}, "Performance"));
  root.append(screen);
  const listed = await commands.portfolios();
  if (listed.status === "error") {
    screen.append(errorBox(listed.error.message));
    return;
  }
  const codes = listed.data;
  const first = codes[0];
  if (!first) {
    screen.append(el("p", {}, "No portfolios in the workspace."));
    return;
  }
  let portfolio: string = first;
  let range = "ytd";
  const status = el("div", { class: "status muted", "data-testid": "perf-status", role: "status" });
  const body = el("div", { "data-testid": "perf-body" });
  const portfolioButtons = el("div", { class: "segmented", "aria-label": "Portfolio" });
  const rangeButtons = el("div", { class: "segmented", "aria-label": "Range" });
  const from = el("input", { type: "date", "data-testid": "range-from", "aria-label": "From" });
  const to = el("input", { type: "date", "data-testid": "range-to", "aria-label": "To" });
  const apply = el("button", { type: "button", "data-testid": "range-apply" }, "Apply");
  let request = 0;

  const mark = (): void => {
    for (const b of portfolioButtons.querySelectorAll("button")) {
      b.setAttribute("aria-pressed", String(b.dataset.value === portfolio));
    }
    for (const b of rangeButtons.querySelectorAll("button")) {
      b.setAttribute("aria-pressed", String(b.dataset.value === range));
    }
  };
  const load = async (): Promise<void> => {
    const mine = ++request;
    mark();
    status.textContent = `Computing ${portfolio} ${range}…`;
    const result = await commands.performance(portfolio, range);
    if (mine !== request) return; // a newer click won
    if (result.status === "error") {
      status.textContent = "";
      clear(body);
      body.append(errorBox(result.error.message));
      return;
    }
    status.textContent = "";
    render(body, result.data);
  };

  for (const code of codes) {
    const b = el("button", { type: "button", "data-value": code, "data-testid": `perf-portfolio-${code}` }, code);
    b.addEventListener("click", () => {
      portfolio = code;
      void load();
    });
    portfolioButtons.append(b);
  }
  for (const [value, label] of RANGES) {
    const b = el("button", { type: "button", "data-value": value, "data-testid": `range-${value}` }, label);
    b.addEventListener("click", () => {
      range = value;
      void load();
    });
    rangeButtons.append(b);
  }
  apply.addEventListener("click", () => {
    if (!from.value || !to.value) {
      status.textContent = "Pick both dates of the custom range.";
      return;
    }
    range = `custom:${from.value}..${to.value}`;
    void load();
  });
  screen.append(
    el(
      "div",
      { class: "toolbar" },
      portfolioButtons,
      rangeButtons,
      el("div", { class: "custom-range" }, from, el("span", {}, "to"), to, apply),
    ),
    status,
    body,
  );
  await load();
}
