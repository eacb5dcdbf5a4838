// Overview: one card per portfolio (NAV, day and YTD P/L, headline KPIs) and the selected
// portfolio's monthly-returns heatmap, drawn by the backend with plotters.

import { commands, type HeatmapDto, type KpiDto, type PortfolioCardDto } from "./bindings";
import { clear, el, errorBox } from "./dom";
import { kpiTooltip, limitsList } from "./performance";

function signClass(sign: number): string {
  return sign > 0 ? "gain" : sign < 0 ? "loss" : "";
}

function kpiRow(kpi: KpiDto): HTMLElement {
  return el(
    "div",
    { class: "kpi", title: kpiTooltip(kpi, "since inception"), "data-testid": `kpi-${kpi.key.replaceAll("_", "-")}` },
    el("span", { class: "kpi-label" }, kpi.label),
    el("span", { class: kpi.value === null ? "kpi-value na" : "kpi-value" }, kpi.display),
  );
}

function card(p: PortfolioCardDto, selected: boolean, onSelect: () => void): HTMLElement {
  const breaches = p.limits.filter((l) => l.breached);
  const node = el(
    "article",
    { class: selected ? "card selected" : "card", "data-testid": "portfolio-card", tabindex: "0" },
    el(
      "header",
      {},
      el("span", { class: "code", "data-testid": "portfolio-code" }, p.code),
      el("span", { class: "name" }, p.name),
      el("span", { class: "strategy" }, p.strategy),
    ),
    el("div", { class: "nav-label" }, `NAV${p.asOf ? ` · ${p.asOf}` : ""}`),
    el("div", { class: "nav", "data-testid": "nav-value" }, p.nav ?? "n/a"),
    el(
      "div",
      { class: "pl" },
      el("span", {}, "Day P/L "),
      el("span", { class: signClass(p.dayPlSign), "data-testid": "day-pl" }, p.dayPl ?? "n/a"),
    ),
    el(
      "div",
      { class: "pl" },
      el("span", {}, "YTD P/L "),
      el("span", { class: signClass(p.ytdPlSign), "data-testid": "ytd-pl" }, p.ytdPl ?? "n/a"),
      el("span", { class: "muted" }, ` (${p.ytdReturn.display})`),
    ),
    el("div", { class: "kpis" }, ...p.kpis.map(kpiRow)),
    p.maxDrawdown
      ? el(
          "div",
          { class: "muted small" },
          `Max drawdown ${p.maxDrawdown.depth}: peak ${p.maxDrawdown.peak ?? "start"}, trough ${p.maxDrawdown.trough}, ${
            p.maxDrawdown.recovery ? `recovered ${p.maxDrawdown.recovery}` : "not recovered"
          }`,
        )
      : null,
    breaches.length
      ? el("div", { class: "limits-title" }, `Risk limits breached (${breaches.length}):`)
      : el("div", { class: "muted small", "data-testid": "limits-ok" }, "Risk limits: none breached"),
    limitsList(breaches, "card-limits"),
  );
  node.addEventListener("click", onSelect);
  node.addEventListener("keydown", (e) => {
    if (e.key === "Enter") onSelect();
  });
  return node;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Year"];

/** Show a cell's value next to the pointer, from the cell geometry the backend sent. */
function attachTooltip(container: HTMLElement, heatmap: HeatmapDto): void {
  const tip = el("div", { class: "tooltip", role: "status" });
  tip.hidden = true;
  container.append(tip);
  const svg = container.querySelector("svg");
  if (!svg) return;
  svg.addEventListener("mousemove", (event) => {
    const box = svg.getBoundingClientRect();
    const width = Number(svg.getAttribute("width")) || box.width;
    const scale = width / box.width;
    const x = (event.clientX - box.left) * scale;
    const y = (event.clientY - box.top) * scale;
    const cell = heatmap.cells.find((c) => x >= c.x && x < c.x + c.width && y >= c.y && y < c.y + c.height);
    if (!cell) {
      tip.hidden = true;
      return;
    }
    tip.hidden = false;
    tip.textContent = `${heatmap.portfolio} ${cell.year} ${MONTHS[cell.month - 1] ?? ""}: ${cell.display}`;
    tip.style.left = `${event.clientX - container.getBoundingClientRect().left + 12}px`;
    tip.style.top = `${event.clientY - container.getBoundingClientRect().top + 12}px`;
  });
  svg.addEventListener("mouseleave", () => {
    tip.hidden = true;
  });
}

async function renderHeatmap(target: HTMLElement, code: string): Promise<void> {
  clear(target);
  target.append(el("div", { class: "muted" }, `Drawing ${code}…`));
  const result = await commands.monthlyHeatmap(code);
  clear(target);
  if (result.status === "error") {
    target.append(errorBox(result.error.message));
    return;
  }
  // The SVG comes from our own backend (plotters), not from user input.
  const figure = el("figure", { class: "heatmap", role: "img", "aria-label": `Monthly returns heatmap of ${code}` });
  figure.innerHTML = result.data.svg;
  target.append(figure);
  attachTooltip(figure, result.data);
}

export async function renderOverview(root: HTMLElement): Promise<void> {
  const screen = el("section", { "data-testid": "screen-overview", class: "screen" }, el("h1", {}, "Overview"));
  root.append(screen);
  const status = el("div", { class: "muted" }, "Opening the workspace (the first start prepares the demo data)…");
  screen.append(status);
  const result = await commands.overview();
  status.remove();
  if (result.status === "error") {
    screen.append(errorBox(result.error.message));
    return;
  }
  const portfolios = result.data.portfolios;
  const cards = el("div", { class: "cards" });
  const heatmapTitle = el("h2", {});
  const heatmap = el("div", { "data-testid": "monthly-heatmap", class: "heatmap-wrap" });
  let selected = portfolios[0]?.code;
  const draw = (): void => {
    clear(cards);
    for (const p of portfolios) {
      cards.append(
        card(p, p.code === selected, () => {
          selected = p.code;
          draw();
        }),
      );
    }
    if (selected) {
      heatmapTitle.textContent = `Monthly returns — ${selected}`;
      void renderHeatmap(heatmap, selected);
    }
  };
  screen.append(cards, heatmapTitle, heatmap);
  draw();
}
