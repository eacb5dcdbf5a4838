// Liquidity: a portfolio's redemption ladder — what the positions can raise by T+1, T+7, …
// against what investors may take out by then — base against a stress scenario from the
// library, the chart (plotters, drawn by the backend), the table behind it and the
// liquidation waterfall (what would be sold, in what order, at what cost).

import { commands, type LadderRowDto, type LiquidityDto } from "./bindings";
import { clear, el, errorBox } from "./dom";

function cell(text: string | null | undefined, cls = "num"): HTMLElement {
  return el("td", { class: cls }, text ?? "—");
}

function ladderRow(r: LadderRowDto, stressed: boolean): HTMLElement {
  const s = r.stressed;
  const cells = [
    el("td", {}, r.label),
    cell(r.cumCapacity),
    cell(r.cumCapacityPct),
    cell(r.cumDemand),
    cell(r.coverage),
    cell(r.surplus, r.breach ? "num loss" : "num"),
  ];
  if (stressed) {
    cells.push(
      cell(s?.cumCapacity),
      cell(s?.cumDemand),
      cell(s?.coverage),
      cell(s?.surplus, s?.breach ? "num loss" : "num"),
    );
  }
  const breach = r.breach || (stressed && s?.breach === true);
  return el("tr", { class: breach ? "failed" : "", "data-testid": "ladder-row" }, ...cells);
}

function render(screen: HTMLElement, d: LiquidityDto, reload: (portfolio: string, scenario: string | null) => void): void {
  const stressed = d.scenario !== null;
  const portfolios = el(
    "div",
    { class: "segmented", role: "group", "aria-label": "Portfolio" },
    ...d.portfolios.map((code) => {
      const b = el("button", { type: "button", "aria-pressed": String(code === d.portfolio), "data-testid": `liq-portfolio-${code}` }, code);
      b.addEventListener("click", () => reload(code, d.scenario));
      return b;
    }),
  );
  const select = el("select", { "data-testid": "liq-scenario", "aria-label": "Stress scenario" });
  select.append(el("option", { value: "" }, "No stress (base only)"));
  for (const s of d.scenarios) {
    const option = el("option", { value: s.key }, `${s.title}${s.kind === "saved" ? " (saved)" : ""}`);
    if (s.key === d.scenario) option.selected = true;
    select.append(option);
  }
  select.addEventListener("change", () => reload(d.portfolio, select.value === "" ? null : select.value));

  const buckets = el("input", { type: "text", value: d.bucketDays, "data-testid": "liq-buckets", "aria-label": "Bucket ends in days", class: "narrow" });
  const participation = el("input", { type: "text", value: d.participationRate, "data-testid": "liq-participation", "aria-label": "Participation rate", class: "narrow" });
  const apply = el("button", { type: "button", "data-testid": "liq-apply" }, "Apply");
  const configNote = el("span", { class: "muted small", role: "status", "data-testid": "liq-config-note" });
  apply.addEventListener("click", () => {
    void (async () => {
      const saved = await commands.setLadderConfig(d.portfolio, buckets.value, participation.value);
      if (saved.status === "error") {
        configNote.textContent = saved.error.message;
        return;
      }
      reload(d.portfolio, d.scenario);
    })();
  });
  const figure = el("figure", { class: "chart", role: "img", "aria-label": "Liquidity ladder", "data-testid": "liq-chart" });
  // The SVG comes from our own backend (plotters), not from user input.
  figure.innerHTML = d.chartSvg;

  const head = ["Bucket", "Capacity (cum.)", "% of NAV", "Redemptions (cum.)", "Coverage", "Surplus"];
  if (stressed) head.push("Stressed capacity", "Stressed redemptions", "Stressed coverage", "Stressed surplus");
  const ladder = el(
    "table",
    { "data-testid": "liq-ladder" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...d.rows.map((r) => ladderRow(r, stressed))),
  );
  const waterfall = el(
    "table",
    { "data-testid": "liq-waterfall" },
    el(
      "thead",
      {},
      el("tr", {}, ...["#", "Asset", "Value", "Days to sell", "Cost", "Proceeds (cum.)", "Remaining"].map((h) => el("th", {}, h))),
    ),
    el(
      "tbody",
      {},
      ...d.waterfall.slice(0, 25).map((w) =>
        el(
          "tr",
          {},
          cell(String(w.order)),
          el("td", {}, w.symbol),
          cell(w.value),
          cell(w.days),
          cell(w.cost),
          cell(w.cumProceeds),
          cell(w.remaining),
        ),
      ),
    ),
  );
  const days = stressed
    ? `Days to liquidate 90% of NAV: ${d.daysToLiquidate90} (stressed: ${d.stressedDaysToLiquidate90 ?? "—"})`
    : `Days to liquidate 90% of NAV: ${d.daysToLiquidate90}`;
  clear(screen);
  screen.append(
    el("h1", {}, "Liquidity"),
    portfolios,
    el("div", { class: "inline" }, el("span", {}, "Stress with"), select),
    el(
      "div",
      { class: "inline" },
      el("span", {}, "Buckets (days)"),
      buckets,
      el("span", {}, "participation (share of ADV)"),
      participation,
      apply,
      configNote,
    ),
    el(
      "p",
      { "data-testid": "liq-summary" },
      `${d.portfolio} · NAV ${d.nav} as of ${d.asOf} · participation ${d.participation} of average daily volume · ${days}`,
    ),
    figure,
    el("h2", {}, stressed ? `Ladder, base vs ${d.scenario}` : "Ladder"),
    ladder,
    el("h2", {}, stressed ? `Liquidation waterfall under ${d.scenario}` : "Liquidation waterfall"),
    waterfall,
    ...(d.notes.length > 0 ? [el("h2", {}, "Notes"), el("ul", {}, ...d.notes.map((n) => el("li", { class: "small" }, n)))] : []),
  );
}

export async function renderLiquidity(root: HTMLElement): Promise<void> {
  const screen = el("section", { "data-testid": "screen-liquidity", class: "screen" }, el("h1", {}, "Liquidity"));
  root.append(screen);
  const load = async (portfolio: string | null, scenario: string | null): Promise<void> => {
    const result = await commands.liquidity(portfolio, scenario);
    if (result.status === "error") {
      screen.append(errorBox(result.error.message));
      return;
    }
    render(screen, result.data, (p, s) => void load(p, s));
  };
  await load(null, null);
}
