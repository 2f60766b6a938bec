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

  /** The LLMSTACK_HOME of the service this window's extension starts (for setting up what the UI then shows). */
  get serviceHome(): string {
    return this.host.serviceHome;
  }

  /** The user's data folder of this window (settings, logs, the extension's global storage). */
  get userData(): string {
    return path.join(this.host.dir, 'ud');
  }

  /**
   * Runs a contributed command as a user does: from the command palette (F1, its title, Enter);
   * with `on`, from that tree row's context menu; for one the palette hides, from its button in
   * the view's title bar. Returns once it started; its quick picks and dialogs are then answered
   * with pick/type/confirm.
   */
  async runCommand(id: string, o: { on?: Locator; shows?: Locator | (() => Promise<boolean>) } = {}): Promise<void> {
    const title = paletteTitle(id);
    const plainTitle = manifest.contributes.commands.find((c) => c.command === id)!.title;
    if (o.on) return this.contextMenu(o.on, plainTitle, o.shows);
    if (hiddenFromPalette(id)) {
      const button = this.page.locator(`.pane-header .action-label[aria-label="${plainTitle}"]`).first();
      await this.page.locator('.pane-header').first().hover();
      await button.click({ timeout: 30_000 });
      return;
    }
    await this.runBuiltIn(title);
  }

  /**
   * Right-clicks a row and clicks `item` in its context menu. A dropped click is retried (bounded):
   * one the menu lost (it stays open), and, with `shows`, one after which what the command shows
   * (its input box, or a condition such as the clipboard's content) never came (a row re-rendered
   * under the pointer takes the click away). Only for commands that are safe to run twice.
   */
  private async contextMenu(row: Locator, item: string, shows?: Locator | (() => Promise<boolean>)): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await row.click({ button: 'right' });
      const entry = this.page.locator('.monaco-menu .action-item', { has: this.page.locator('.action-label', { hasText: new RegExp(`^${escape(item)}$`) }) }).first();
      try {
        await entry.waitFor({ timeout: 10_000 });
        await entry.hover();
        await entry.click();
        await this.page.locator('.monaco-menu').first().waitFor({ state: 'detached', timeout: 5_000 });
        if (typeof shows === 'function') await waitUntil(`what ${item} does`, shows, 10_000, 100);
        else if (shows) await shows.waitFor({ timeout: 15_000 });
        return;
      } catch (e) {
        if (attempt >= 4) throw e;
        await this.page.keyboard.press('Escape');
      }
    }
  }

  /** The open quick pick's row for `label`: a substring of the row, or a pattern of its label alone. */
  private row(label: string | RegExp): Locator {
    const rows = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    return (typeof label === 'string' ? rows.filter({ hasText: label }) : rows.filter({ has: this.page.locator('.label-name', { hasText: label }) })).first();
  }

  /** Waits for a quick pick with `placeholder` (when given), and picks the row with `label`. */
  async pick(label: string | RegExp, o: { placeholder?: string; many?: boolean } = {}): Promise<void> {
    if (o.placeholder) await this.page.locator(`.quick-input-widget input[placeholder="${o.placeholder}"]`).waitFor({ timeout: 30_000 });
    const row = this.row(label);
    await row.waitFor({ timeout: 30_000 });
    if (o.many) {
      await this.page.mouse.move(1, 1);
      // A multi-select quick pick: tick the row's checkbox, then accept with OK.
      await row.locator('input[type="checkbox"], .quick-input-list-checkbox, .monaco-checkbox').first().click();
      await this.page.locator('.quick-input-widget .monaco-button:has-text("OK")').first().click();
    } else {
      // A hover left open by an earlier pointer move can cover the row: move the pointer away first.
      await this.page.mouse.move(1, 1);
      await row.click();
    }
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
  }

  /** The rows of the open quick pick, as their text. */
  async pickRows(placeholder?: string | RegExp): Promise<string[]> {
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 30_000 });
    if (placeholder) await waitUntil(`the quick pick "${placeholder}"`, async () => ((await input.getAttribute('placeholder')) ?? '').match(placeholder), 30_000, 100);
    const rows = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    await rows.first().waitFor({ timeout: 30_000 });
    return (await rows.allInnerTexts()).map((t) => plain(t).replace(/\s+/g, ' ').trim());
  }

  /**
   * Answers VS Code's own file dialog (the simple one code-server shows): once it shows its folder,
   * types the path key by key as a user would (it completes names as they are typed), then clicks `ok`.
   */
  async chooseFile(fsPath: string, ok: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const box = widget.locator('input.input');
    await box.waitFor({ timeout: 30_000 });
    // It shows a folder (…/) or, saving, the proposed file's path.
    await waitUntil('the file dialog to show a path', async () => (await box.inputValue()).startsWith('/'), 30_000, 100);
    // The dialog rewrites its value while it reads folders: set the path until it stays (bounded).
    await waitUntil('the file dialog to take the path', async () => {
      if ((await box.inputValue()) !== fsPath) await box.fill(fsPath);
      await new Promise((r) => setTimeout(r, 300));
      return (await box.inputValue()) === fsPath;
    }, 15_000, 100);
    const button = widget.locator('.monaco-button', { hasText: new RegExp(`^${escape(ok)}$`) }).first();
    if (await button.isVisible()) await button.click();
    else await this.page.keyboard.press('Enter');
    await widget.waitFor({ state: 'hidden', timeout: 30_000 });
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
    const found = await toast.waitFor({ timeout: timeoutMs }).then(() => toast, async (e: unknown) => {
      // A toast hides itself after a while: the notification center keeps every notification.
      await this.runBuiltIn('Notifications: Show Notifications');
      const item = this.page.locator('.notifications-center .notification-list-item', { hasText: text }).first();
      if (!(await item.waitFor({ timeout: 5_000 }).then(() => true, () => false))) {
        const all = await this.page.locator('.notifications-center .notification-list-item-message').allInnerTexts();
        throw new Error(`${e instanceof Error ? e.message.split('\n')[0] : String(e)}; the notifications: ${all.map(plain).join(' | ') || 'none'}`);
      }
      return item;
    });
    const shown = plain((await found.locator('.notification-list-item-message').innerText()).trim());
    await this.hideNotificationCenter();
    return shown;
  }

  /**
   * Closes the notification center when it is open. Escape closes it (VS Code binds Escape to
   * "Hide Notifications" while the center is visible); the palette's command would not do: it
   * is listed only while the center shows, and opening the palette can close the center first.
   */
  private async hideNotificationCenter(): Promise<void> {
    const center = this.page.locator('.notifications-center.visible');
    await waitUntil('the notification center to close', async () => {
      if (!(await center.isVisible())) return true;
      await this.page.keyboard.press('Escape');
      return false;
    }, 15_000, 200);
  }

  /** Closes every notification, so the next check sees only new ones. */
  async clearNotifications(): Promise<void> {
    await this.runBuiltIn('Notifications: Clear All Notifications');
    await this.page.locator('.notification-toast').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
  }

  /** Runs one of VS Code's own commands from the palette by its title. */
  async runBuiltIn(title: string): Promise<void> {
    // Keys go to the workbench, not to a focused webview (the metrics panel keeps them).
    await this.page.locator('.pane-header').first().focus();
    await this.page.keyboard.press('Escape');
    const box = this.page.locator('.quick-input-widget input');
    const row = this.page.locator('.quick-input-list .monaco-list-row', { has: this.page.locator('.label-name', { hasText: new RegExp(`^${escape(title)}$`) }) }).first();
    // F1 first; a focused webview (the metrics panel) keeps F1 to itself, and then the title bar's
    // command center opens the same quick input. On a busy machine a palette can come up late and
    // a later open toggles it closed again, even after it showed: each try opens it only when it
    // is not showing, and a try whose palette closed under it (fill or pick failed) starts over.
    let last: unknown;
    for (let attempt = 0; attempt < 6; attempt++) {
      if (!(await box.isVisible())) {
        if (attempt % 2 === 0) await this.page.keyboard.press('F1');
        else await this.page.locator('.titlebar .command-center').first().click();
      }
      try {
        await box.waitFor({ timeout: 5_000 });
        await box.fill(`>${title}`, { timeout: 5_000 });
        await row.click({ timeout: 15_000 });
        return;
      } catch (e) {
        last = e;
      }
    }
    throw new Error(`could not run "${title}" from the command palette (F1 and the command center, 6 tries): ${last instanceof Error ? last.message.split('\n')[0] : String(last)}`);
  }

  /** The tree row whose accessible label starts with `name,` in the view titled `view` (a model or container row). */
  treeRow(view: 'Containers' | 'Models', name: string): Locator {
    return this.page.locator(`.pane:has(.pane-header[aria-label^="${view}"]) .monaco-list-row[aria-label^="${name},"]`).first();
  }

  /** Waits for a container's row, opening the "Other containers" group when it is folded. */
  async showContainer(name: string): Promise<Locator> {
    await this.expandView('Containers');
    const row = this.treeRow('Containers', name);
    const group = this.page.locator('.pane:has(.pane-header[aria-label^="Containers"]) .monaco-list-row[aria-label^="Other containers"]').first();
    await waitUntil(`the row of ${name}`, async () => {
      if (await row.isVisible()) return true;
      if ((await group.isVisible()) && (await group.getAttribute('aria-expanded')) === 'false') await group.click();
      return false;
    }, 60_000, 200);
    return row;
  }

  /** A group row (a runtime in the Models view) by the text it shows. */
  groupRow(view: 'Containers' | 'Models', text: string | RegExp): Locator {
    return this.page.locator(`.pane:has(.pane-header[aria-label^="${view}"]) .monaco-list-row`, { hasText: text }).first();
  }

  /** The accessible labels of every row the view shows, top to bottom. */
  async rowLabels(view: 'Containers' | 'Models'): Promise<string[]> {
    const rows = this.page.locator(`.pane:has(.pane-header[aria-label^="${view}"]) .monaco-list-row`);
    const all = await rows.evaluateAll((els) =>
      els.map((e) => e as unknown as DomNode & { getAttribute(n: string): string | null }).sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top)).map((e) => e.getAttribute('aria-label') ?? ''),
    );
    return all.map(plain);
  }

  /** Expands a view section (Containers, Models) when it is collapsed. */
  async expandView(view: 'Containers' | 'Models'): Promise<void> {
    const header = this.page.locator(`.pane-header[aria-label^="${view}"]`).first();
    await header.waitFor({ timeout: 30_000 });
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  }

  /** The text of the editor whose tab is `tab`, the front one of its group, as the user reads it. */
  async editorText(tab: string | RegExp): Promise<string> {
    const group = this.page.locator('.editor-group-container', { has: this.page.locator('.tab.active', { hasText: tab }) }).first();
    await group.waitFor({ timeout: 60_000 });
    const lines = group.locator('.monaco-editor .view-lines').first();
    await lines.waitFor({ timeout: 30_000 });
    // The editor renders its lines a moment after the tab shows.
    return waitUntil(`the text of ${tab}`, async () => (await this.linesOf(lines)).trim() && this.linesOf(lines), 30_000, 100);
  }

  /**
   * The text of an output channel in the Output panel. The panel renders only the lines in view:
   * with `filter`, its filter box narrows the channel to the matching lines first.
   */
  async outputText(channel: string, filter = ''): Promise<string> {
    const select = this.page.locator('.panel select').first();
    await select.waitFor({ timeout: 30_000 });
    await waitUntil(`the output channel ${channel} to be shown`, async () => {
      const selected = await select.evaluate((e) => {
        const s = e as unknown as { selectedIndex: number; options: ArrayLike<{ text: string }> };
        return s.options[s.selectedIndex]?.text ?? '';
      });
      return selected === channel;
    }, 30_000, 200);
    const box = this.page.locator('.panel .viewpane-filter input').first();
    if ((await box.inputValue()) !== filter) {
      await box.fill(filter);
      // The filter applies after a short debounce: wait until every rendered line matches it.
      if (filter) await waitUntil('the output filter to apply', async () => (await this.linesOf(this.page.locator('.panel .monaco-editor .view-lines').first())).split('\n').every((l) => !l || l.includes(filter)), 10_000, 100);
    }
    const lines = this.page.locator('.panel .monaco-editor .view-lines').first();
    await lines.waitFor({ timeout: 30_000 });
    return this.linesOf(lines);
  }

  private async linesOf(lines: Locator): Promise<string> {
    // Monaco renders lines in absolutely positioned divs: order them by their offset.
    const text = await lines.evaluate((el) =>
      Array.from((el as unknown as DomNode).querySelectorAll('.view-line'))
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map((l) => l.textContent ?? '')
        .join('\n'),
    );
    return plain(text);
  }

  /** What this window's clipboard holds. */
  async clipboard(): Promise<string> {
    await this.page.bringToFront();
    // The browser reads the clipboard for a focused document only, not while a webview's frame
    // (the metrics panel) has the focus: focus a view header of the workbench itself.
    await this.page.locator('.pane-header').first().focus();
    return this.page.evaluate<string>('navigator.clipboard.readText()');
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

/** The little of the DOM these page functions use (the tests compile without the DOM library). */
interface DomNode {
  readonly textContent: string | null;
  readonly style: { readonly top: string };
  querySelectorAll(selector: string): ArrayLike<DomNode>;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
