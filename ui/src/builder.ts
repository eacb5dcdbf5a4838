// The scenario builder: every shock type as a small form, composed into one definition that
// the backend checks as the analyst types (shape, then against the portfolio's book: unknown
// assets or currencies, replay windows outside the history, prices pushed below zero) with a
// P/L preview, then saved to the library as a new version of its name.

import { commands } from "./bindings";
import { clear, el } from "./dom";

type FieldKind = "number" | "text" | "date" | "buckets" | "moves";
interface Field {
  key: string;
  label: string;
  kind: FieldKind;
  optional?: boolean;
  placeholder?: string;
}

/** The shock types and their fields, as the engine's `Shock` takes them (decimals as text). */
export const SHOCKS: Record<string, { label: string; fields: Field[] }> = {
  parallel_rate: { label: "Rates: parallel shift", fields: [{ key: "bp", label: "bp", kind: "number", placeholder: "100" }] },
  curve_twist: {
    label: "Rates: curve twist (steepener, flattener, butterfly)",
    fields: [{ key: "buckets", label: "years:bp, …, last open", kind: "buckets", placeholder: "2:-25, 10:0, :25" }],
  },
  credit_spread: {
    label: "Credit spreads",
    fields: [
      { key: "rating", label: "rating", kind: "text", optional: true, placeholder: "BBB" },
      { key: "sector", label: "sector", kind: "text", optional: true },
      { key: "bp", label: "bp", kind: "number", placeholder: "100" },
    ],
  },
  fx: {
    label: "FX against the base currency",
    fields: [
      { key: "currency", label: "currency", kind: "text", placeholder: "EUR" },
      { key: "pct", label: "%", kind: "number", placeholder: "-10" },
      { key: "against", label: "against", kind: "text", optional: true },
    ],
  },
  equity: {
    label: "Equities (× beta)",
    fields: [
      { key: "market", label: "market (country)", kind: "text", optional: true, placeholder: "US" },
      { key: "sector", label: "sector", kind: "text", optional: true },
      { key: "pct", label: "%", kind: "number", placeholder: "-20" },
    ],
  },
  commodity: {
    label: "Commodities",
    fields: [
      { key: "sector", label: "sector", kind: "text", optional: true },
      { key: "name", label: "name", kind: "text", optional: true },
      { key: "pct", label: "%", kind: "number", placeholder: "-15" },
    ],
  },
  asset: {
    label: "One asset",
    fields: [
      { key: "asset", label: "symbol or id", kind: "text" },
      { key: "pct", label: "%", kind: "number", placeholder: "-30" },
    ],
  },
  macro: {
    label: "Macro (through sector coefficients)",
    fields: [{ key: "moves", label: "factor:pp, …", kind: "moves", placeholder: "gdp_growth:-2, policy_rate:1" }],
  },
  historical_replay: {
    label: "Historical replay",
    fields: [
      { key: "from", label: "from", kind: "date" },
      { key: "to", label: "to", kind: "date" },
    ],
  },
  redemption: {
    label: "Redemptions",
    fields: [
      { key: "share", label: "share of NAV (0–1)", kind: "number", placeholder: "0.25" },
      { key: "by", label: "by", kind: "date" },
    ],
  },
};

type Shock = Record<string, unknown>;

function pairs(text: string): [string, string][] {
  return text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => {
      const at = p.lastIndexOf(":");
      return at < 0 ? [p, ""] : [p.slice(0, at).trim(), p.slice(at + 1).trim()];
    });
}

/** A shock from the form's values, or null while a required field is empty. */
export function shockFrom(type: string, values: Record<string, string>): Shock | null {
  const spec = SHOCKS[type];
  if (!spec) return null;
  const shock: Shock = { type };
  for (const f of spec.fields) {
    const value = (values[f.key] ?? "").trim();
    if (value === "") {
      if (f.optional) continue;
      return null;
    }
    if (f.kind === "buckets") {
      shock[f.key] = pairs(value).map(([years, bp]) => ({ up_to_years: years === "" ? null : years, bp }));
    } else if (f.kind === "moves") {
      shock[f.key] = Object.fromEntries(pairs(value));
    } else {
      shock[f.key] = value;
    }
  }
  return shock;
}

function describe(shock: Shock): string {
  const { type, ...rest } = shock;
  return `${SHOCKS[String(type)]?.label ?? String(type)}: ${JSON.stringify(rest)}`;
}

export function renderBuilder(root: HTMLElement, portfolio: string, onSaved: (key: string) => void): void {
  const shocks: Shock[] = [];
  const name = el("input", { type: "text", placeholder: "scenario name", "data-testid": "build-name", class: "narrow" });
  const type = el("select", { "data-testid": "build-type", "aria-label": "Shock type" });
  for (const [key, spec] of Object.entries(SHOCKS)) type.append(el("option", { value: key }, spec.label));
  const fields = el("div", { class: "inline", "data-testid": "build-fields" });
  const inputs = new Map<string, HTMLInputElement>();
  const list = el("ol", { "data-testid": "build-shocks" });
  const status = el("div", { role: "status", "data-testid": "build-status", class: "status" });
  const add = el("button", { type: "button", "data-testid": "build-add" }, "Add shock");
  const save = el("button", { type: "button", "data-testid": "build-save" }, "Save to the library");

  const pending = (): Shock | null =>
    shockFrom(type.value, Object.fromEntries([...inputs].map(([k, input]) => [k, input.value])));
  const definition = (): string => {
    const extra = pending();
    return JSON.stringify({ name: name.value.trim(), description: "", shocks: extra ? [...shocks, extra] : shocks });
  };

  let timer: number | undefined;
  let asked = 0;
  const check = (): void => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      void (async () => {
        const ticket = ++asked;
        if (shocks.length === 0 && pending() === null) {
          status.textContent = "Fill in a shock to see what it does.";
          status.className = "status muted";
          return;
        }
        const result = await commands.checkScenario(portfolio, definition());
        if (ticket !== asked) return; // a newer check is on its way
        if (result.status === "error") {
          status.textContent = result.error.message;
          status.className = "status loss";
        } else if (result.data.valid) {
          status.textContent = `Valid. ${result.data.preview ?? ""}`;
          status.className = "status gain";
        } else {
          status.textContent = result.data.error ?? "invalid";
          status.className = "status loss";
        }
      })();
    }, 250);
  };

  const showFields = (): void => {
    clear(fields);
    inputs.clear();
    for (const f of SHOCKS[type.value]?.fields ?? []) {
      const input = el("input", {
        type: f.kind === "date" ? "date" : "text",
        inputmode: f.kind === "number" ? "decimal" : undefined,
        placeholder: f.placeholder ?? (f.optional ? "any" : ""),
        "data-testid": `build-${f.key}`,
        class: f.kind === "buckets" || f.kind === "moves" ? "" : "narrow",
        "aria-label": f.label,
      });
      input.addEventListener("input", check);
      inputs.set(f.key, input);
      fields.append(el("label", { class: "pick" }, `${f.label}${f.optional ? " (optional)" : ""}`, input));
    }
    check();
  };
  const showList = (): void => {
    clear(list);
    shocks.forEach((s, i) => {
      const remove = el("button", { type: "button", class: "small" }, "remove");
      remove.addEventListener("click", () => {
        shocks.splice(i, 1);
        showList();
        check();
      });
      list.append(el("li", {}, describe(s), " ", remove));
    });
  };
  type.addEventListener("change", showFields);
  name.addEventListener("input", check);
  add.addEventListener("click", () => {
    const shock = pending();
    if (!shock) {
      status.textContent = "Fill in the shock's fields first.";
      status.className = "status loss";
      return;
    }
    shocks.push(shock);
    for (const input of inputs.values()) input.value = "";
    showList();
    check();
  });
  save.addEventListener("click", () => {
    void (async () => {
      const saved = await commands.saveScenario(definition());
      if (saved.status === "error") {
        status.textContent = `Not saved: ${saved.error.message}`;
        status.className = "status loss";
        return;
      }
      onSaved(saved.data.key);
    })();
  });

  root.append(
    el("h2", {}, "Build a scenario"),
    el("p", { class: "muted small" }, `Shocks compose; each is checked against ${portfolio} as you type.`),
    el("div", { class: "inline" }, name, type),
    fields,
    el("div", { class: "inline" }, add, save),
    list,
    status,
  );
  showFields();
}
