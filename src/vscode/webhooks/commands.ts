// Webhook Deliveries…: the service's delivery log in a quick pick (event, subscription, state, last
// status or error), and Redeliver on the one picked. Subscriptions are made with
// `llmstack webhook add` (the secret is shown once, in the terminal).
import * as vscode from 'vscode';
import type { Runner } from '../../app/useCase';
import { webhookDeliveries, webhookRedeliver, type WebhookDeps } from '../../app/webhooks/useCases';
import { errorMessage } from '../../core/lifecycle';
import { showErrorWithLog } from '../notify';


export function registerWebhookCommands(run: Runner<WebhookDeps>, log: vscode.LogOutputChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('llmStack.webhooks.deliveries', async () => {
      try {
        const { deliveries } = await run(webhookDeliveries, { limit: 100 });
        if (!deliveries.length) {
          void vscode.window.showInformationMessage('No webhook deliveries yet. Subscribe a URL with `llmstack webhook add NAME URL`.');
          return undefined;
        }
        const pick = await vscode.window.showQuickPick(
          deliveries.map((d) => ({
            label: `#${d.id} ${d.event} → ${d.webhook}`,
            description: `${d.state}${d.lastStatus ? ` (HTTP ${d.lastStatus})` : ''} · ${d.attempts} ${d.attempts === 1 ? 'attempt' : 'attempts'}`,
            detail: `${new Date(d.createdAt).toLocaleString()}${d.lastError ? ` · ${d.lastError}` : ''}${d.state === 'pending' && d.nextAt ? ` · next attempt ${new Date(d.nextAt).toLocaleTimeString()}` : ''}`,
            d,
          })),
          { placeHolder: 'Webhook deliveries, newest first: pick one to send it again', matchOnDescription: true, matchOnDetail: true },
        );
        if (!pick) return undefined;
        const answer = await vscode.window.showInformationMessage(`Send delivery #${pick.d.id} (${pick.d.event}) to "${pick.d.webhook}" again?`, { modal: true, detail: 'A new delivery with the same body and signature scheme is queued.' }, 'Redeliver');
        if (answer !== 'Redeliver') return undefined;
        const { id } = await run(webhookRedeliver, { id: pick.d.id });
        void vscode.window.showInformationMessage(`Queued again as delivery #${id}.`);
        return id;
      } catch (e) {
        showErrorWithLog(log, `LLM Stack: ${errorMessage(e)}`);
        return undefined;
      }
    }),
  ];
}
