/**
 * What the bot says, independent of any platform. Each adapter renders it natively:
 * Block Kit, an embed with components, an inline keyboard, HTML.
 */
export type Stage = 'queued' | 'building' | 'deploying' | 'live' | 'failed' | 'stopped' | 'expired';

/**
 * What a button asks for. `upgrade`, `buy` and `pay-extend` start a purchase; platforms that
 * pay in-app (Telegram Stars) answer them with an invoice, the others get a checkout link.
 */
export type ActionId = 'stop' | 'extend' | 'upgrade' | 'buy' | 'pay-extend' | 'undo' | 'export';

/** Every action a button may carry; adapters accept no other. */
export const ACTION_IDS: readonly ActionId[] = [
  'stop',
  'extend',
  'upgrade',
  'buy',
  'pay-extend',
  'undo',
  'export',
];

export type Button =
  | { readonly kind: 'link'; readonly label: string; readonly url: string }
  | {
      readonly kind: 'action';
      readonly label: string;
      readonly action: ActionId;
      readonly sessionId: string;
      readonly style?: 'primary' | 'danger';
      /** Undo: the version it goes back to. */
      readonly version?: number;
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

/** Versions a button may name: 1..999999 (six digits keep every platform's button data short). */
const VERSION_PATTERN = /^[1-9]\d{0,5}$/;

/**
 * What a button carries besides its action, in one string: `abc123`, or `abc123.2` for an
 * Undo that goes back to version 2. A dot, because Discord and Telegram already split on `:`.
 */
export function actionTarget(button: { readonly sessionId: string; readonly version?: number }): string {
  return button.version === undefined ? button.sessionId : `${button.sessionId}.${button.version}`;
}

/** `abc123.2` → session and version; the session id is checked by the caller. */
export function parseActionTarget(target: string): { sessionId: string; version?: number } | undefined {
  const dot = target.indexOf('.');
  if (dot < 0) return { sessionId: target };
  const version = target.slice(dot + 1);
  if (!VERSION_PATTERN.test(version)) return undefined;
  return { sessionId: target.slice(0, dot), version: Number(version) };
}

/** Purchases of a plan or credits are about no app; every other action names the app it is for. */
export function actionNeedsSession(action: ActionId): boolean {
  return action !== 'upgrade' && action !== 'buy';
}

/** A valid version number from a platform payload (web JSON, a parsed command), or undefined. */
export function asVersion(value: unknown): number | undefined {
  const s = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
  return VERSION_PATTERN.test(s) ? Number(s) : undefined;
}
