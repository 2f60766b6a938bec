// One refresh policy for both trees (Containers, Models): bursts of changes become one re-render,
// descriptions that age ("up 3 minutes", "unloads in 2 min") re-render on a tick only while the view
// shows, and showing the view re-renders at once and runs the view's own "look again" hook.
// No `vscode` import: the tree providers own one and the view's visibility is fed in.
import { Disposable, Emitter, type Event } from '../core/lifecycle';

interface RefreshPolicyOptions {
  /** Changes within this window become one refresh. */
  readonly debounceMs: number;
  /** While visible, refresh this often so that ages in descriptions stay true. */
  readonly ageEveryMs: number;
  /** Runs each time the view becomes visible (e.g. ask the runtimes again). */
  readonly onShow?: () => void;
}

export class RefreshPolicy extends Disposable {
  private readonly refreshEmitter = this.register(new Emitter<void>());
  /** Fires when the tree should re-render. */
  readonly onRefresh: Event<void> = this.refreshEmitter.event;
  private pending: NodeJS.Timeout | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private visible = false;
  private known = false;

  constructor(private readonly options: RefreshPolicyOptions) {
    super();
    this.register({ dispose: () => (clearTimeout(this.pending), clearInterval(this.ageTimer)) });
  }

  /** Something the tree shows changed: refresh once the burst is over. */
  invalidate(): void {
    if (this.pending || this.isDisposed) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.refreshEmitter.fire();
    }, this.options.debounceMs);
  }

  /** The view's visibility; the first call is its state at creation, which is not a "show". */
  setVisible(visible: boolean): void {
    const first = !this.known;
    this.known = true;
    if ((visible === this.visible && !first) || this.isDisposed) return;
    this.visible = visible;
    clearInterval(this.ageTimer);
    this.ageTimer = undefined;
    if (!visible) return;
    this.ageTimer = setInterval(() => this.invalidate(), this.options.ageEveryMs);
    if (first) return;
    this.invalidate();
    this.options.onShow?.();
  }
}

/** What a tree view offers the policy (vscode.TreeView has this shape). */
interface VisibleView {
  readonly visible: boolean;
  onDidChangeVisibility(listener: (e: { readonly visible: boolean }) => unknown): { dispose(): unknown };
}

/** Feeds a view's visibility into the policy, now and on each change. */
export function followVisibility(view: VisibleView, policy: RefreshPolicy): { dispose(): unknown } {
  policy.setVisible(view.visible);
  return view.onDidChangeVisibility((e) => policy.setVisible(e.visible));
}
