// Ballast UI shell: navigation, the freshness badge every screen shares, and screen routing.

import "./styles.css";
import { commands } from "./bindings";
import { renderData } from "./data";
import { clear, el } from "./dom";
import { renderOverview } from "./overview";
import { renderLiquidity } from "./liquidity";
import { renderPerformance } from "./performance";
import { renderScenarios } from "./scenarios";
import { renderSettings } from "./settings";

type Screen = "overview" | "performance" | "scenarios" | "liquidity" | "data" | "settings";
const SCREENS: [Screen, string][] = [
  ["overview", "Overview"],
  ["performance", "Performance"],
  ["scenarios", "Scenarios"],
  ["liquidity", "Liquidity"],
  ["data", "Data"],
  ["settings", "Settings"],
];

const app = document.getElementById("app");
if (!app) throw new Error("#app is missing from index.html");

const freshness = el("div", { class: "freshness", "data-testid": "freshness" }, "…");
const nav = el("nav", { "aria-label": "Screens" });
const main = el("main", {});
app.append(
  el("aside", {}, el("div", { class: "brand" }, "Ballast"), nav),
  el("div", { class: "content" }, el("div", { class: "topbar" }, freshness), main),
);

async function refreshFreshness(): Promise<void> {
  const status = await commands.dataStatus();
  if (status.status === "error" || !status.data.source) {
    freshness.textContent = "No data loaded";
    return;
  }
  const { source, freshness: f, outbox } = status.data;
  const from = source.kind === "demo" ? "" : ` from ${source.label}`;
  const waiting = outbox.filter((o) => o.status === "pending").length;
  const dead = outbox.length - waiting;
  freshness.textContent =
    `${f.label}${from}` +
    (f.stale ? ` · STALE (older than ${f.staleAfterHours} h)` : "") +
    (waiting > 0 ? ` · ${waiting} waiting to send` : "") +
    (dead > 0 ? ` · ${dead} failed to send` : "");
  freshness.className = f.stale ? "freshness stale" : "freshness";
  freshness.title = f.asOf
    ? `Oldest table synced ${new Date(f.asOf).toLocaleString()}` +
      (f.staleTables.length > 0 ? `; stale: ${f.staleTables.join(", ")}` : "")
    : "";
}
// Ages move on while the app is open.
setInterval(() => void refreshFreshness(), 60_000);

function show(screen: Screen): void {
  for (const button of nav.querySelectorAll("button")) {
    button.setAttribute("aria-current", button.dataset.screen === screen ? "page" : "false");
  }
  clear(main);
  const done = (): void => void refreshFreshness();
  const rendering =
    screen === "overview"
      ? renderOverview(main)
      : screen === "performance"
        ? renderPerformance(main)
        : screen === "scenarios"
          ? renderScenarios(main, done)
          : screen === "liquidity"
            ? renderLiquidity(main)
            : screen === "data"
              ? renderData(main, done)
              : renderSettings(main, done);
  void rendering.then(done);
}

for (const [screen, label] of SCREENS) {
  const button = el("button", { type: "button", "data-testid": `nav-${screen}`, "data-screen": screen }, label);
  button.addEventListener("click", () => show(screen));
  nav.append(button);
}
show("overview");
