/**
 * What the bot says, independent of any platform. Each adapter renders it natively:
 * Block Kit, an embed with components, an inline keyboard, HTML.
 */
export type Stage = 'queued' | 'building' | 'deploying' | 'live' | 'failed' | 'stopped' | 'expired';

/**
 * What a button asks for. `upgrade`, `buy` and `pay-extend` start a purchase; platforms that
 * pay in-app (Telegram Stars) answer them with an invoice, the others get a checkout link.
 */
export type ActionId = 'stop' | 'extend' | 'upgrade' | 'buy' | 'pay-extend';

export type Button =
  | { readonly kind: 'link'; readonly label: string; readonly url: string }
  | {
      readonly kind: 'action';
      readonly label: string;
      readonly action: ActionId;
      readonly sessionId: string;
      readonly style?: 'primary' | 'danger';
    };

export interface Progress {
  readonly stage: Stage;
  /** 0-100. */
  readonly percent: number;
  /** A short line on what is happening ("wrote server.js (3/5)"). */
  readonly detail?: string;
}

export interface ViewField {
  readonly label: string;
  readonly value: string;
}

export interface ReplyView {
  /** How the card should look: in progress, done, went wrong, or just information. */
  readonly tone: 'progress' | 'success' | 'error' | 'info';
  readonly title: string;
  /** Plain text; adapters escape it for their markup. */
  readonly text: string;
  readonly progress?: Progress;
  readonly fields?: readonly ViewField[];
  readonly buttons?: readonly Button[];
  /** Small print, e.g. "Built by the offline builder (no ANTHROPIC_API_KEY set)." */
  readonly footer?: string;
  readonly sessionId?: string;
  /** When the app is destroyed (ISO 8601); a live page may count down to it. */
  readonly expiresAt?: string;
  /** Meant for the person who asked only, where the platform can do that. */
  readonly ephemeral?: boolean;
}

const BAR_WIDTH = 10;

/** `▓▓▓▓░░░░░░ 40%`: a progress bar every chat platform can show as plain text. */
export function textProgressBar(percent: number, width = BAR_WIDTH): string {
  const p = Math.max(0, Math.min(100, Math.round(percent)));
  const filled = Math.round((p / 100) * width);
  return `${'▓'.repeat(filled)}${'░'.repeat(width - filled)} ${p}%`;
}
