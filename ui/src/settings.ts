// Settings: the Postgres connection (URL here, password to the OS keychain) and "Sync now"
// with streamed progress.

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
  const progress = el("progress", { max: "100", value: "0", "data-testid": "sync-progress" });
  const status = el("div", { "data-testid": "sync-status", role: "status", class: "status" });
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

  sync.addEventListener("click", () => {
    void (async () => {
      sync.disabled = true;
      progress.value = 0;
      status.textContent = "Starting sync…";
      const channel = new Channel<SyncEventDto>();
      channel.onmessage = (event) => {
        progress.value = event.percent ?? 0;
        status.textContent = event.message;
      };
      const outcome = await commands.syncNow(channel);
      sync.disabled = false;
      if (outcome.status === "error") {
        status.textContent = `Sync failed (${outcome.error.kind}): ${outcome.error.message}`;
        return;
      }
      progress.value = 100;
      status.textContent = `synced ${outcome.data.rows.toLocaleString()} rows in ${outcome.data.tables} tables from ${outcome.data.source}`;
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
      el("div", { class: "buttons" }, save, sync),
    ),
    progress,
    status,
    el("h2", {}, "Workspace"),
    el("p", {}, `Local file: ${current.workspacePath}`),
  );
  if (current.keychainProblem) screen.append(errorBox(`Keychain: ${current.keychainProblem}`));
}
