import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import { PLAN_LABEL } from '../../src/billing/plans.js';
import type { PurchaseKind } from '../../src/billing/signed-link.js';
import {
  ACTION_IDS,
  type ActionId,
  actionNeedsSession,
  actionTarget,
  type Button,
  parseActionTarget,
  type ReplyView,
  textProgressBar,
} from '../../src/core/view.js';
import { SESSION_ID_PATTERN } from '../../src/spawn/ids.js';

/** Telegram's limit on a message's text after entity parsing. */
export const TELEGRAM_TEXT_MAX = 4096;
/** Telegram's limit on `callback_data`, in bytes. */
export const CALLBACK_DATA_MAX_BYTES = 64;
/** Telegram's limit on an `answerCallbackQuery` text. */
export const CALLBACK_ANSWER_MAX = 200;

// Bounds per part keep any view under TELEGRAM_TEXT_MAX visible characters.
const TITLE_MAX = 200;
const BODY_MAX = 2000;
const DETAIL_MAX = 200;
const FIELD_LABEL_MAX = 40;
const FIELD_VALUE_MAX = 120;
const FIELDS_MAX = 8;
const FOOTER_MAX = 300;
const BUTTON_LABEL_MAX = 64;
const ACTIONS_PER_ROW = 3;

const TONE_MARK: Record<ReplyView['tone'], string> = {
  progress: '⏳',
  success: '✅',
  error: '⚠️',
  info: 'ℹ️',
};

const ACTIONS = ACTION_IDS;

/** Escapes text for Telegram's HTML parse mode (the only four characters it requires). */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** At most `max` UTF-16 units, never splitting a surrogate pair, with an ellipsis when cut. */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}

/** What one button press asks for; `purchase` tells a Pro offer from a Team one. */
export interface CallbackAction {
  readonly action: ActionId;
  readonly sessionId: string;
  readonly purchase?: 'pro' | 'team';
  /** Undo: the version it goes back to. */
  readonly version?: number;
}

/**
 * Which plan an `upgrade` button sells. The conversation's buttons carry the action only, so
 * the plan is read from the label it wrote ("Get Team", "Upgrade to Pro").
 */
export function upgradePlanOf(label: string): 'pro' | 'team' {
  return label.includes(PLAN_LABEL.team) ? 'team' : 'pro';
}

/** `stop:abc123`, `upgrade:abc123:team`: well under 64 bytes for any session id. */
export function callbackData(button: Extract<Button, { kind: 'action' }>): string {
  const base = `${button.action}:${actionTarget(button)}`;
  return button.action === 'upgrade' ? `${base}:${upgradePlanOf(button.label)}` : base;
}

export function parseCallbackData(data: string | undefined): CallbackAction | undefined {
  if (!data || Buffer.byteLength(data) > CALLBACK_DATA_MAX_BYTES) return undefined;
  const [action, target = '', purchase, ...rest] = data.split(':');
  if (rest.length > 0 || !ACTIONS.includes(action as ActionId)) return undefined;
  const parsed = parseActionTarget(target);
  // Undo names the version it goes back to (`undo:abc123.2`); nothing else names one.
  if (!parsed || (action === 'undo') !== (parsed.version !== undefined)) return undefined;
  const { sessionId } = parsed;
  const needsSession = actionNeedsSession(action as ActionId);
  if (
    needsSession
      ? !SESSION_ID_PATTERN.test(sessionId)
      : sessionId !== '' && !SESSION_ID_PATTERN.test(sessionId)
  )
    return undefined;
  if (purchase !== undefined && (action !== 'upgrade' || (purchase !== 'pro' && purchase !== 'team')))
    return undefined;
  return {
    action: action as ActionId,
    sessionId,
    ...(purchase === 'pro' || purchase === 'team' ? { purchase } : {}),
    ...(parsed.version !== undefined ? { version: parsed.version } : {}),
  };
}

/** What an action that starts a purchase buys. */
export function purchaseOf(action: CallbackAction): PurchaseKind | undefined {
  if (action.action === 'upgrade') return action.purchase ?? 'pro';
  if (action.action === 'buy') return 'credits';
  if (action.action === 'pay-extend') return 'extend';
  return undefined;
}

/**
 * Telegram refuses URL buttons whose host has no dot (`http://localhost:3000` gives
 * BUTTON_URL_INVALID, and the whole message fails); such links stay in the text only. So do
 * local previews (`http://<app>.localhost:3001`): they open on this machine only, and a button
 * Telegram might refuse would cost the whole message.
 */
export function buttonUrlAllowed(url: string): boolean {
  try {
    const u = new URL(url);
    const loopbackName = u.hostname === 'localhost' || u.hostname.endsWith('.localhost');
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname.includes('.') && !loopbackName;
  } catch {
    return false;
  }
}

function keyboard(buttons: readonly Button[] | undefined): InlineKeyboardMarkup | undefined {
  if (!buttons || buttons.length === 0) return undefined;
  const links: InlineKeyboardButton[] = [];
  const actions: InlineKeyboardButton[] = [];
  for (const b of buttons) {
    const text = clip(b.label, BUTTON_LABEL_MAX);
    if (b.kind === 'link') {
      if (buttonUrlAllowed(b.url)) links.push({ text, url: b.url });
    } else {
      actions.push({ text, callback_data: callbackData(b) });
    }
  }
  const rows: InlineKeyboardButton[][] = [];
  if (links.length > 0) rows.push(links);
  for (let i = 0; i < actions.length; i += ACTIONS_PER_ROW) rows.push(actions.slice(i, i + ACTIONS_PER_ROW));
  return rows.length > 0 ? { inline_keyboard: rows } : undefined;
}

export interface RenderedMessage {
  /** HTML (parse_mode HTML); every piece of text in it was escaped. */
  readonly text: string;
  readonly replyMarkup?: InlineKeyboardMarkup;
}

/**
 * A view as one Telegram message: bold title, the text, a text progress bar, the fields
 * (stage, time left, cost), the footer in italics, and an inline keyboard: a URL button to
 * the preview, callback buttons for Stop, Extend and purchases.
 */
export function renderView(view: ReplyView): RenderedMessage {
  const lines: string[] = [`${TONE_MARK[view.tone]} <b>${escapeHtml(clip(view.title, TITLE_MAX))}</b>`];
  const body = view.text.trim();
  if (body) lines.push(escapeHtml(clip(body, BODY_MAX)));
  if (view.progress && view.tone === 'progress') {
    const detail = view.progress.detail?.trim();
    const extra = detail && detail !== body ? ` ${escapeHtml(clip(detail, DETAIL_MAX))}` : '';
    lines.push(`<code>${textProgressBar(view.progress.percent)}</code>${extra}`);
  }
  const fields = (view.fields ?? []).slice(0, FIELDS_MAX);
  if (fields.length > 0) {
    lines.push(
      fields
        .map(
          (f) =>
            `<b>${escapeHtml(clip(f.label, FIELD_LABEL_MAX))}:</b> ${escapeHtml(clip(f.value, FIELD_VALUE_MAX))}`,
        )
        .join('\n'),
    );
  }
  if (view.footer) lines.push(`<i>${escapeHtml(clip(view.footer, FOOTER_MAX))}</i>`);
  const replyMarkup = keyboard(view.buttons);
  return { text: lines.join('\n'), ...(replyMarkup ? { replyMarkup } : {}) };
}

/** A view as the one line an `answerCallbackQuery` toast or alert can show (plain text). */
export function summaryOf(view: ReplyView): string {
  const text = view.text.trim();
  const line = view.tone === 'error' || !text ? text || view.title : `${view.title}: ${text}`;
  return clip(line.replace(/\s+/g, ' '), CALLBACK_ANSWER_MAX);
}
