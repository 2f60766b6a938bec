// API tokens for the service's TCP listener, from the editor: Create API Token… (name, role,
// models; the token is shown once, with Copy) and Revoke API Token… (picked, confirmed). The
// use cases run in the service (src/service/tokens.ts); the editor itself needs no token: it talks
// to the service over its private socket.
import * as vscode from 'vscode';
import type { Runner } from '../../app/useCase';
import { errorMessage } from '../../core/lifecycle';
import { tokenUseCases } from '../../service/tokens';
import { showErrorWithLog } from '../notify';

type TokenDeps = Parameters<(typeof tokenUseCases)[0]['run']>[0];
const [create, list, revoke] = tokenUseCases;

const ROLES = [
  { label: 'viewer', detail: 'Reads state, metrics and events; GET routes of the gateway.' },
  { label: 'operator', detail: 'Also acts on containers and models, runs prompts and generations through the gateway.' },
  { label: 'admin', detail: 'Also applies stacks, restores the registry, manages tokens and webhooks.' },
] as const;

export function registerTokenCommands(run: Runner<TokenDeps>, log: vscode.LogOutputChannel): vscode.Disposable[] {
  const reg = (id: string, fn: () => Promise<unknown>) =>
    vscode.commands.registerCommand(id, async () => {
      try {
        return await fn();
      } catch (e) {
        showErrorWithLog(log, `LLM Stack: ${errorMessage(e)}`);
        return undefined;
      }
    });
  return [
    reg('llmStack.tokens.create', async () => {
      const name = await vscode.window.showInputBox({
        title: 'Create API Token (1/3)',
        prompt: 'A name for the token: who or what will use it',
        placeHolder: 'ci',
        validateInput: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v) ? undefined : 'Letters, digits, dots, dashes and underscores (at most 64).'),
      });
      if (name === undefined) return undefined;
      const role = await vscode.window.showQuickPick(ROLES, { title: 'Create API Token (2/3)', placeHolder: 'What may the token do?' });
      if (!role) return undefined;
      const models = await vscode.window.showInputBox({ title: 'Create API Token (3/3)', prompt: 'Only these models (comma-separated); leave empty for all', placeHolder: 'llama3.2:1b, qwen3:0.6b' });
      if (models === undefined) return undefined;
      const names = models.split(',').map((m) => m.trim()).filter(Boolean);
      const r = await run(create, { name, role: role.label, models: names.length ? names : undefined });
      const copy = await vscode.window.showInformationMessage(`API token "${r.name}" (${r.role}) created. It is not shown again: copy it now.`, { modal: true, detail: r.token }, 'Copy');
      if (copy === 'Copy') {
        await vscode.env.clipboard.writeText(r.token);
        void vscode.window.showInformationMessage(`The token "${r.name}" is on the clipboard. Send it as Authorization: Bearer <token>.`);
      }
      return r.name;
    }),
    reg('llmStack.tokens.revoke', async () => {
      const { tokens } = await run(list, {});
      const live = tokens.filter((t) => t.revokedAt === undefined && (t.expiresAt === undefined || t.expiresAt > Date.now()));
      if (!live.length) {
        void vscode.window.showInformationMessage('There is no live API token. "LLM Stack: Create API Token…" makes one.');
        return undefined;
      }
      const pick = await vscode.window.showQuickPick(
        live.map((t) => ({ label: t.name, description: t.role, detail: `created ${new Date(t.createdAt).toLocaleString()}${t.expiresAt ? `, expires ${new Date(t.expiresAt).toLocaleString()}` : ''}${t.models ? ` · models: ${t.models.join(', ')}` : ''}` })),
        { placeHolder: 'Revoke which API token?' },
      );
      if (!pick) return undefined;
      const answer = await vscode.window.showWarningMessage(`Revoke the API token "${pick.label}"?`, { modal: true, detail: 'Requests with it are refused from the next one on. This cannot be undone.' }, 'Revoke');
      if (answer !== 'Revoke') return undefined;
      await run(revoke, { name: pick.label });
      void vscode.window.showInformationMessage(`API token "${pick.label}" revoked.`);
      return pick.label;
    }),
  ];
}
