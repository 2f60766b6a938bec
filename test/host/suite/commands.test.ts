// Contributed commands run as a user runs them: from the command palette of a VS Code without a
// test suite (see userWindow.ts), answering their real quick picks, input boxes and dialogs, and
// checking what the user gets: the notification, the tree row, the file, the engine's state, the
// clipboard, the output channel.
import * as assert from 'node:assert/strict';
import { createTestContainer, engine, uniqueName, waitUntil } from '../../support/engine';
import { UserWindow } from './userWindow';

describe('container commands through the workbench UI (host)', function () {
  this.timeout(300_000);
  let user: UserWindow;
  const mine: string[] = [];

  before(async function () {
    this.timeout(180_000);
    user = await UserWindow.open({ settings: { 'llmStack.logs.target': 'outputChannel' } });
  });
  after(async () => {
    await Promise.all(mine.map((id) => engine().getContainer(id).remove({ force: true }).catch(() => undefined)));
    if (user) {
      user.assertNoUnhandledErrors();
      await user.close();
    }
  });

  async function container(prefix: string, script?: string): Promise<{ id: string; name: string }> {
    const name = uniqueName(prefix);
    const c = await createTestContainer({ name, script });
    mine.push(c.id);
    await user.treeRow('Containers', name).waitFor({ timeout: 60_000 });
    return { id: c.id, name };
  }

  it('Restart: picked in the quick pick, the container starts again', async () => {
    const { id, name } = await container('ui-restart');
    const before = (await engine().getContainer(id).inspect()).State.StartedAt;
    await user.runCommand('llmStack.containers.restart');
    await user.pick(name, { placeholder: 'Select containers to restart', many: true });
    await user.notification(`Restarting ${name}…`);
    await waitUntil('a new start time', async () => (await engine().getContainer(id).inspect()).State.StartedAt !== before, 60_000, 200);
    await waitUntil('the row to say running', async () => /, running/.test((await user.treeRow('Containers', name).getAttribute('aria-label')) ?? ''), 30_000, 200);
  });

  it('Remove…: picked, confirmed in the modal dialog, the container and its row are gone', async () => {
    const { id, name } = await container('ui-remove');
    await user.runCommand('llmStack.containers.remove');
    await user.pick(name, { placeholder: 'Select containers to remove', many: true });
    const text = await user.confirm(`Remove container ${name}?`, 'Remove');
    assert.match(text, /This cannot be undone/);
    await user.treeRow('Containers', name).waitFor({ state: 'detached', timeout: 60_000 });
    await assert.rejects(engine().getContainer(id).inspect(), /no such container/i);
  });

  it('Show Logs three times on one container (output channel): every line appears once', async () => {
    // The container prints its marker only when told to, after the three Show Logs: three
    // followers would each append it.
    const { id, name } = await container('ui-logs', 'echo logs-started; while [ ! -f /tmp/go ]; do sleep 0.2; done; echo marker-line-42; exit 0');
    for (let i = 0; i < 3; i++) {
      await user.runCommand('llmStack.containers.logs');
      await user.pick(name, { placeholder: 'Show logs of…' });
      await waitUntil('the channel to show the first line', async () => (await user.outputText(`LLM Stack Logs: ${name}`)).includes('logs-started'), 30_000, 200);
    }
    const exec = await engine().getContainer(id).exec({ Cmd: ['touch', '/tmp/go'] });
    await exec.start({});
    const text = await waitUntil('the stream to end', async () => {
      const t = await user.outputText(`LLM Stack Logs: ${name}`);
      return t.includes('[log stream ended') && t;
    }, 60_000, 200);
    const count = (s: string) => text.split(s).length - 1;
    assert.equal(count('logs-started'), 1, text);
    assert.equal(count('marker-line-42'), 1, text);
    assert.equal(count('[log stream ended'), 1, text);
  });
});
