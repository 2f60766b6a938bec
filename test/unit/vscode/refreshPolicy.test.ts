import * as assert from 'assert';
import { waitForEvent } from '../../../src/core/lifecycle';
import { followVisibility, RefreshPolicy } from '../../../src/vscode/refreshPolicy';

/** A view whose visibility the test flips, shaped like vscode.TreeView's. */
function fakeView(visible: boolean) {
  const listeners = new Set<(e: { visible: boolean }) => unknown>();
  return {
    visible,
    onDidChangeVisibility(l: (e: { visible: boolean }) => unknown) {
      listeners.add(l);
      return { dispose: () => listeners.delete(l) };
    },
    set(v: boolean) {
      this.visible = v;
      for (const l of [...listeners]) l({ visible: v });
    },
  };
}

function counting(policy: RefreshPolicy) {
  const c = { refreshes: 0 };
  policy.onRefresh(() => c.refreshes++);
  return c;
}

describe('RefreshPolicy: one refresh policy for both trees (unit)', () => {
  it('turns a burst of changes into one refresh', async () => {
    const policy = new RefreshPolicy({ debounceMs: 20, ageEveryMs: 60_000 });
    const c = counting(policy);
    for (let i = 0; i < 50; i++) policy.invalidate();
    await waitForEvent(policy.onRefresh, () => c.refreshes > 0, 5_000, 'a refresh');
    // A later change after the burst is refreshed again, once.
    policy.invalidate();
    policy.invalidate();
    await waitForEvent(policy.onRefresh, () => c.refreshes > 1, 5_000, 'a second refresh');
    assert.strictEqual(c.refreshes, 2);
    policy.dispose();
  });

  it('re-renders on a tick only while visible, and the first visibility is not a "show"', async () => {
    let shows = 0;
    const policy = new RefreshPolicy({ debounceMs: 1, ageEveryMs: 15, onShow: () => shows++ });
    const c = counting(policy);
    const view = fakeView(true);
    const sub = followVisibility(view, policy);
    assert.strictEqual(shows, 0, 'a view visible at creation is not asked to look again');
    await waitForEvent(policy.onRefresh, () => c.refreshes >= 3, 5_000, 'three age ticks');
    view.set(false);
    const hiddenAt = c.refreshes;
    // While hidden, a change still refreshes (VS Code defers hidden trees itself), but no tick runs:
    // the refresh from this change is the only one before the view shows again.
    policy.invalidate();
    await waitForEvent(policy.onRefresh, () => c.refreshes > hiddenAt, 5_000, 'the change while hidden');
    const afterChange = c.refreshes;
    view.set(true);
    assert.strictEqual(shows, 1, 'showing the view runs its hook');
    assert.ok(afterChange - hiddenAt <= 2, `at most the pending tick and the change while hidden, got ${afterChange - hiddenAt}`);
    await waitForEvent(policy.onRefresh, () => c.refreshes > afterChange, 5_000, 'a refresh on show');
    view.set(true); // no change: no second show
    assert.strictEqual(shows, 1);
    sub.dispose();
    policy.dispose();
  });

  it('stops ticking and refreshing once disposed', () => {
    let shows = 0;
    const policy = new RefreshPolicy({ debounceMs: 1, ageEveryMs: 5, onShow: () => shows++ });
    policy.setVisible(false);
    policy.dispose();
    policy.setVisible(true);
    policy.invalidate();
    assert.strictEqual(shows, 0);
  });
});
