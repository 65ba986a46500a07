import { actionTarget, type ReplyView, textProgressBar } from '../../src/core/view.js';
import { ACTION_PREFIX, actionIdFor } from './parse.js';

/**
 * ReplyView → Block Kit, with a plain fallback `text` for notifications and clients that do
 * not show blocks. User text is escaped for mrkdwn, so a prompt cannot mention `@channel`
 * or forge links. This module imports no platform SDK.
 */

/** A Block Kit block, as JSON. */
export interface Block {
  readonly type: string;
  readonly block_id?: string;
  readonly [key: string]: unknown;
}

export interface SlackMessage {
  readonly text: string;
  readonly blocks: Block[];
}

/** Block Kit limits (https://api.slack.com/reference/block-kit). */
export const SLACK_LIMITS = {
  headerChars: 150,
  sectionChars: 3000,
  fieldChars: 2000,
  fieldsPerSection: 10,
  buttonLabelChars: 75,
  buttonValueChars: 2000,
  urlChars: 3000,
  actionElements: 25,
  contextChars: 2000,
  fallbackChars: 3900,
} as const;

const TONE_EMOJI: Record<ReplyView['tone'], string> = {
  progress: ':hourglass_flowing_sand:',
  success: ':white_check_mark:',
  error: ':warning:',
  info: ':information_source:',
};

const STAGE_LABEL: Record<string, string> = {
  queued: 'Queued',
  building: 'Building',
  deploying: 'Deploying',
  live: 'Live',
  failed: 'Failed',
  stopped: 'Stopped',
  expired: 'Expired',
};

/** Escapes the three characters mrkdwn gives meaning to (`<@U…>`, `<!channel>`, `<url|label>`). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Bare http(s) addresses as explicit links: with `verbatim`, Slack would not link them itself. */
function linkify(escaped: string): string {
  return escaped.replace(/\bhttps?:\/\/[A-Za-z0-9.\-:_~/%?=#+@!$,*()]+/g, (url) => {
    const trimmed = url.replace(/[.,!?)]+$/, '');
    return `<${trimmed}>${url.slice(trimmed.length)}`;
  });
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Clips escaped text without cutting an entity (`&amp;`) in half. */
function clipEscaped(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  const cut = escaped.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '');
  return `${cut}…`;
}

function mrkdwn(text: string): Record<string, unknown> {
  return { type: 'mrkdwn', text, verbatim: true };
}

function plain(text: string, max: number): Record<string, unknown> {
  return { type: 'plain_text', text: clip(text, max), emoji: true };
}

function buttons(view: ReplyView): Block[] {
  const elements: Block[] = [];
  (view.buttons ?? []).forEach((b, i) => {
    if (elements.length >= SLACK_LIMITS.actionElements) return;
    if (b.kind === 'link') {
      if (b.url.length > SLACK_LIMITS.urlChars) return;
      // URL buttons still send block_actions; the receiver acknowledges them.
      elements.push({
        type: 'button',
        action_id: `${ACTION_PREFIX}link:${i}`,
        text: plain(b.label, SLACK_LIMITS.buttonLabelChars),
        url: b.url,
      });
    } else {
      elements.push({
        type: 'button',
        action_id: actionIdFor(b.action),
        text: plain(b.label, SLACK_LIMITS.buttonLabelChars),
        value: clip(actionTarget(b), SLACK_LIMITS.buttonValueChars),
        ...(b.style ? { style: b.style } : {}),
      });
    }
  });
  // Two buttons with the same action in one block would share an action_id, which Slack refuses.
  const seen = new Set<string>();
  const unique = elements.filter((e) => {
    const id = e.action_id as string;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return unique.length > 0 ? [{ type: 'actions', block_id: 'spawnai_actions', elements: unique }] : [];
}

/** The Block Kit message for a view: title, text, progress bar, fields, buttons, footer. */
export function renderView(view: ReplyView): SlackMessage {
  const blocks: Block[] = [];
  const title = `${TONE_EMOJI[view.tone]} ${view.title}`;
  blocks.push({ type: 'header', text: plain(title, SLACK_LIMITS.headerChars) });
  if (view.text.trim() !== '') {
    const text = linkify(clipEscaped(escapeMrkdwn(view.text), SLACK_LIMITS.sectionChars - 200));
    blocks.push({ type: 'section', text: mrkdwn(text) });
  }
  if (view.progress) {
    const stage = STAGE_LABEL[view.progress.stage] ?? view.progress.stage;
    const detail = view.progress.detail ? `\n_${escapeMrkdwn(clip(view.progress.detail, 200))}_` : '';
    blocks.push({
      type: 'section',
      block_id: 'spawnai_progress',
      text: mrkdwn(`*${stage}*  \`${textProgressBar(view.progress.percent)}\`${detail}`),
    });
  }
  const fields = (view.fields ?? []).slice(0, SLACK_LIMITS.fieldsPerSection);
  if (fields.length > 0) {
    blocks.push({
      type: 'section',
      block_id: 'spawnai_fields',
      fields: fields.map((f) =>
        mrkdwn(clipEscaped(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)}`, SLACK_LIMITS.fieldChars)),
      ),
    });
  }
  blocks.push(...buttons(view));
  if (view.footer) {
    blocks.push({
      type: 'context',
      elements: [mrkdwn(clipEscaped(escapeMrkdwn(view.footer), SLACK_LIMITS.contextChars))],
    });
  }
  return { text: fallbackText(view), blocks };
}

/** The notification text: title, text and progress in plain words (mrkdwn-escaped). */
export function fallbackText(view: ReplyView): string {
  const parts = [view.title];
  if (view.progress) {
    parts.push(
      `${STAGE_LABEL[view.progress.stage] ?? view.progress.stage} ${textProgressBar(view.progress.percent)}`,
    );
  }
  if (view.text.trim() !== '') parts.push(view.text);
  return clipEscaped(escapeMrkdwn(parts.join('\n')), SLACK_LIMITS.fallbackChars);
}
