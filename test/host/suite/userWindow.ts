// A second VS Code, as a user has it, driven from a host test: its own code-server and Chromium
// page with the extension and no test suite, so its quick picks, input boxes and modal dialogs
// are real (the suite's own window refuses modal dialogs: VS Code's DialogService does so
// whenever extension tests run). Tests answer them with playwright keys and clicks and read what
// the workbench shows: notification toasts, tree rows, editors, the output panel, the clipboard.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { ROOT, startHost, unhandledErrors, type RunningHost } from '../codeServerHost';
import { waitUntil } from '../../support/engine';

interface Contributed {
  command: string;
  title: string;
  category?: string;
}
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  contributes: { commands: Contributed[]; menus: Record<string, { command: string; when?: string }[]> };
};

/** The title the command palette shows for a contributed command ("LLM Stack: Restart"). */
export function paletteTitle(id: string): string {
  const c = manifest.contributes.commands.find((x) => x.command === id);
  if (!c) throw new Error(`${id} is not a contributed command`);
  return c.category ? `${c.category}: ${c.title}` : c.title;
}

function hiddenFromPalette(id: string): boolean {
  return (manifest.contributes.menus.commandPalette ?? []).some((m) => m.command === id && m.when === 'false');
}

/** Text as the workbench renders it (Monaco and the notification list use no-break spaces). */
function plain(s: string): string {
  return s.replace(/\u00a0/g, ' ');
}

export class UserWindow {
  private constructor(
    private readonly host: RunningHost,
    readonly workspace: string,
  ) {}

  static async open(o: { settings?: Record<string, unknown>; workspaceFiles?: Record<string, string> } = {}): Promise<UserWindow> {
    const host = await startHost({ settings: o.settings, workspaceFiles: o.workspaceFiles, onLog: (l) => console.log(`  [user window] ${l}`) });
    const origin = new URL(host.url).origin;
    await host.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const w = new UserWindow(host, path.join(host.dir, 'workspace'));
    await w.page.locator('.activitybar [aria-label^="LLM Stack"]').first().click({ timeout: 90_000 });
    return w;
  }

  get page(): Page {
    return this.host.page;
  }

  /** The user's data folder of this window (settings, logs, the extension's global storage). */
  get userData(): string {
    return path.join(this.host.dir, 'ud');
  }

  /**
   * Runs a contributed command as a user does: from the command palette (F1, its title, Enter), or,
   * for one the palette hides, from its button in the view's title bar. Returns once it was started;
   * its quick picks and dialogs are then answered with pick/type/confirm.
   */
  async runCommand(id: string): Promise<void> {
    const title = paletteTitle(id);
    if (hiddenFromPalette(id)) {
      const plainTitle = manifest.contributes.commands.find((c) => c.command === id)!.title;
      const button = this.page.locator(`.pane-header .action-label[aria-label="${plainTitle}"]`).first();
      await this.page.locator('.pane-header').first().hover();
      await button.click({ timeout: 30_000 });
      return;
    }
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('F1');
    const box = this.page.locator('.quick-input-widget input');
    await box.waitFor({ timeout: 30_000 });
    await box.fill(`>${title}`);
    // The row whose label is exactly the title ("LLM Stack: Stop" must not pick "… Stop Containers…").
    const row = this.page.locator('.quick-input-list .monaco-list-row', { has: this.page.locator('.label-name', { hasText: new RegExp(`^${escape(title)}$`) }) }).first();
    await row.waitFor({ timeout: 30_000 });
    await row.click();
  }

  /** The open quick pick's row for `label` (a substring, or a pattern of the whole row text). */
  private row(label: string | RegExp): Locator {
    return this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: label }).first();
  }

  /** Waits for a quick pick with `placeholder` (when given), and picks the row with `label`. */
  async pick(label: string | RegExp, o: { placeholder?: string; many?: boolean } = {}): Promise<void> {
    if (o.placeholder) await this.page.locator(`.quick-input-widget input[placeholder="${o.placeholder}"]`).waitFor({ timeout: 30_000 });
    const row = this.row(label);
    await row.waitFor({ timeout: 30_000 });
    if (o.many) {
      // A multi-select quick pick: tick the row's checkbox, then accept with OK.
      await row.locator('input[type="checkbox"], .quick-input-list-checkbox, .monaco-checkbox').first().click();
      await this.page.locator('.quick-input-widget .monaco-button:has-text("OK")').first().click();
    } else {
      await row.click();
    }
  }

  /** Types into the open input box (replacing its value) and presses Enter. */
  async type(text: string, o: { title?: string | RegExp } = {}): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    if (o.title) await widget.locator('.quick-input-title, .quick-input-message, .quick-input-header', { hasText: o.title }).first().waitFor({ timeout: 30_000 });
    const box = widget.locator('input.input');
    await box.waitFor({ timeout: 30_000 });
    await box.fill(text);
    await this.page.keyboard.press('Enter');
  }

  /** Clicks `button` in the modal dialog that says `message`; returns the dialog's text. */
  async confirm(message: string | RegExp, button: string): Promise<string> {
    const dialog = this.page.locator('.monaco-dialog-box', { hasText: message });
    await dialog.waitFor({ timeout: 60_000 });
    const text = plain((await dialog.innerText()).trim());
    await dialog.locator('.monaco-button', { hasText: new RegExp(`^${escape(button)}$`) }).first().click();
    await dialog.waitFor({ state: 'detached', timeout: 30_000 });
    return text;
  }

  /** Waits for a notification whose text matches, and returns its text as shown. */
  async notification(text: string | RegExp, timeoutMs = 60_000): Promise<string> {
    const toast = this.page.locator('.notification-toast .notification-list-item', { hasText: text }).first();
    await toast.waitFor({ timeout: timeoutMs });
    return plain((await toast.locator('.notification-list-item-message').innerText()).trim());
  }

  /** Closes every notification, so the next check sees only new ones. */
  async clearNotifications(): Promise<void> {
    await this.runBuiltIn('Notifications: Clear All Notifications');
    await this.page.locator('.notification-toast').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
  }

  /** Runs one of VS Code's own commands from the palette by its title. */
  async runBuiltIn(title: string): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('F1');
    const box = this.page.locator('.quick-input-widget input');
    await box.waitFor({ timeout: 30_000 });
    await box.fill(`>${title}`);
    await this.page.locator('.quick-input-list .monaco-list-row', { has: this.page.locator('.label-name', { hasText: new RegExp(`^${escape(title)}$`) }) }).first().click({ timeout: 30_000 });
  }

  /** The tree row whose accessible label starts with `name,` in the view titled `view`. */
  treeRow(view: 'Containers' | 'Models', name: string): Locator {
    return this.page.locator(`.pane:has(.pane-header[aria-label^="${view}"]) .monaco-list-row[aria-label^="${name},"]`).first();
  }

  /** Expands a view section (Containers, Models) when it is collapsed. */
  async expandView(view: 'Containers' | 'Models'): Promise<void> {
    const header = this.page.locator(`.pane-header[aria-label^="${view}"]`).first();
    await header.waitFor({ timeout: 30_000 });
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  }

  /** The text of the active editor as the user reads it (every line rendered). */
  async activeEditorText(tab: string | RegExp): Promise<string> {
    await this.page.locator('.tab.active', { hasText: tab }).first().waitFor({ timeout: 60_000 });
    return this.visibleLines('.editor-group-container.active .monaco-editor .view-lines');
  }

  /** The text of an output channel, shown in the Output panel. */
  async outputText(channel: string): Promise<string> {
    await this.page.locator('.panel .monaco-select-box, .panel select').first().waitFor({ timeout: 30_000 });
    await waitUntil(`the output channel ${channel} to be shown`, async () => {
      const selected = await this.page.locator('.panel .monaco-select-box, .panel select').first().evaluate((e) => (e instanceof HTMLSelectElement ? e.options[e.selectedIndex]?.text : e.textContent) ?? '');
      return selected.includes(channel);
    }, 30_000, 200);
    return this.visibleLines('.panel .output-view .view-lines, .panel .monaco-editor .view-lines');
  }

  private async visibleLines(selector: string): Promise<string> {
    const lines = this.page.locator(selector).first();
    await lines.waitFor({ timeout: 30_000 });
    // Monaco renders lines in absolutely positioned divs: order them by their offset.
    const text = await lines.evaluate((el) =>
      [...el.querySelectorAll<HTMLElement>('.view-line')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map((l) => l.textContent ?? '')
        .join('\n'),
    );
    return plain(text);
  }

  /** What this window's clipboard holds. */
  async clipboard(): Promise<string> {
    await this.page.bringToFront();
    return this.page.evaluate(() => navigator.clipboard.readText());
  }

  /** Fails when this window's extension host logged an unhandled error from the extension. */
  assertNoUnhandledErrors(): void {
    const found = unhandledErrors(this.host.dir, this.host.logs);
    if (found.length) throw new Error(`unhandled errors from the extension in the user window:\n${found.join('\n---\n')}`);
  }

  async screenshot(name: string): Promise<void> {
    fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    await this.page.screenshot({ path: path.join(ROOT, 'test-results', name) });
  }

  async close(): Promise<void> {
    await this.host.close();
    fs.rmSync(this.host.dir, { recursive: true, force: true });
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
