// Settings: the Postgres connection (URL here, password to the OS keychain; sslmode in the
// URL), "Sync now" with streamed progress and a clean cancel.

import { Channel } from "@tauri-apps/api/core";
import { commands, type SettingsDto, type SyncEventDto } from "./bindings";
import { el, errorBox } from "./dom";

export async function renderSettings(root: HTMLElement, onSynced: () => void): Promise<void> {
  const screen = el("section", { "data-testid": "screen-settings", class: "screen" }, el("h1", {}, "Settings"));
  root.append(screen);
  const result = await commands.settings();
  if (result.status === "error") {
    screen.append(errorBox(result.error.message));
    return;
  }
  let current: SettingsDto = result.data;
  const url = el("input", {
    type: "text",
    id: "pg-url",
    "data-testid": "pg-url",
    placeholder: "postgres://user@host:5432/ballast?sslmode=require",
    autocomplete: "off",
    spellcheck: "false",
  });
  url.value = current.postgresUrl ?? "";
  const password = el("input", {
    type: "password",
    id: "pg-password",
    "data-testid": "pg-password",
    autocomplete: "off",
  });
  const passwordNote = el("span", { class: "muted small" });
  const save = el("button", { type: "button", "data-testid": "save-settings" }, "Save");
  const sync = el("button", { type: "button", "data-testid": "sync-now" }, "Sync now");
  const cancel = el("button", { type: "button", "data-testid": "sync-cancel" }, "Cancel");
  cancel.disabled = true;
  const verifyAll = el("input", { type: "checkbox", id: "verify-all", "data-testid": "verify-all" });
  const progress = el("progress", { max: "100", value: "0", "data-testid": "sync-progress" });
  const status = el("div", { "data-testid": "sync-status", role: "status", class: "status" });
  const details = el("pre", { "data-testid": "sync-details", class: "details" });
  const showPasswordNote = (): void => {
    password.placeholder = current.passwordStored ? "stored in the OS keychain" : "password (kept in the OS keychain)";
    passwordNote.textContent = current.keychainProblem
      ? `Keychain unavailable: ${current.keychainProblem}`
      : current.passwordStored
        ? "A password is stored in the keychain. Leave empty to keep it."
        : "";
  };
  showPasswordNote();

  save.addEventListener("click", () => {
    void (async () => {
      status.textContent = "Saving…";
      // No sync (or second save) until this save has landed: it would use the old settings.
      save.disabled = true;
      sync.disabled = true;
      const saved = await commands.saveSettings(url.value.trim(), password.value === "" ? null : password.value);
      save.disabled = false;
      sync.disabled = false;
      password.value = "";
      if (saved.status === "error") {
        status.textContent = `Not saved: ${saved.error.message}`;
        return;
      }
      current = saved.data;
      url.value = current.postgresUrl ?? "";
      showPasswordNote();
      status.textContent = "Saved.";
    })();
  });

  cancel.addEventListener("click", () => {
    cancel.disabled = true;
    status.textContent = "Cancelling…";
    void commands.cancelSync();
  });

  sync.addEventListener("click", () => {
    void (async () => {
      sync.disabled = true;
      cancel.disabled = false;
      progress.value = 0;
      status.textContent = "Starting sync…";
      details.textContent = "";
      const channel = new Channel<SyncEventDto>();
      channel.onmessage = (event) => {
        progress.value = event.percent ?? 0;
        status.textContent = `${Math.round(event.percent ?? 0)}% · ${event.message}`;
      };
      const outcome = await commands.syncNow(verifyAll.checked, channel);
      sync.disabled = false;
      cancel.disabled = true;
      if (outcome.status === "error") {
        status.textContent =
          outcome.error.kind === "cancelled"
            ? `Sync cancelled: ${outcome.error.message}`
            : `Sync failed (${outcome.error.kind}): ${outcome.error.message}`;
        return;
      }
      const r = outcome.data;
      progress.value = 100;
      status.textContent =
        `synced from ${r.source}: ${r.rowsIn.toLocaleString()} rows in, ${r.rowsDeleted.toLocaleString()} deleted` +
        (r.fullTables.length > 0 ? ` (${r.fullTables.length} tables pulled in full)` : " (incremental)");
      details.textContent = [`Verification ${r.verification}`, `Outbox: ${r.outbox}`, ...r.notes.map((n) => `Note: ${n}`)].join("\n");
      onSynced();
    })();
  });

  screen.append(
    el("h2", {}, "Shared database"),
    el(
      "div",
      { class: "form" },
      el("label", { for: "pg-url" }, "Postgres URL"),
      url,
      el("label", { for: "pg-password" }, "Password"),
      password,
      el("span", {}),
      passwordNote,
      el("span", {}),
      el("span", {}),
      el(
        "div",
        { class: "buttons" },
        save,
        sync,
        cancel,
        el("label", { class: "small check" }, verifyAll, " full verification: Postgres sums every row (slower)"),
      ),
    ),
    progress,
    status,
    details,
    el("h2", {}, "Workspace"),
    el("p", {}, `Local file: ${current.workspacePath}`),
  );
  if (current.keychainProblem) screen.append(errorBox(`Keychain: ${current.keychainProblem}`));
}
