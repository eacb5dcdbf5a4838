// Ballast UI shell: navigation, the freshness badge every screen shares, and screen routing.

import "./styles.css";
import { commands } from "./bindings";
import { renderData } from "./data";
import { clear, el } from "./dom";
import { ageText, isStale } from "./freshness";
import { renderOverview } from "./overview";
import { renderPerformance } from "./performance";
import { renderSettings } from "./settings";

type Screen = "overview" | "performance" | "data" | "settings";
const SCREENS: [Screen, string][] = [
  ["overview", "Overview"],
  ["performance", "Performance"],
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
  const s = status.data.source;
  const what = s.kind === "demo" ? "Demo data" : `Synced from ${s.label}`;
  const stale = isStale(s.loadedAt);
  freshness.textContent = `${what} · ${s.kind === "demo" ? "generated" : "synced"} ${ageText(s.loadedAt)}${stale ? " · STALE" : ""}`;
  freshness.className = stale ? "freshness stale" : "freshness";
  freshness.title = `Loaded ${new Date(s.loadedAt).toLocaleString()}`;
}

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
        : screen === "data"
          ? renderData(main)
          : renderSettings(main, done);
  void rendering.then(done);
}

for (const [screen, label] of SCREENS) {
  const button = el("button", { type: "button", "data-testid": `nav-${screen}`, "data-screen": screen }, label);
  button.addEventListener("click", () => show(screen));
  nav.append(button);
}
show("overview");
