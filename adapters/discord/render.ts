import { actionTarget, type Button, type ReplyView, textProgressBar } from '../../src/core/view.js';
import { CALLBACK, EPHEMERAL_FLAG, type InitialResponse } from './types.js';

/** Discord's limits on what one message may hold. */
const LIMITS = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  /** Title, description, field names and values and footer of all embeds of a message together. */
  embedTotal: 6000,
  buttonLabel: 80,
  buttonsPerRow: 5,
  rows: 5,
  url: 512,
  customId: 100,
  threadName: 100,
} as const;

const TONE_COLOR: Record<ReplyView['tone'], number> = {
  progress: 0x5865f2,
  success: 0x57f287,
  error: 0xed4245,
  info: 0x99aab5,
};

/** Button styles: 1 primary, 2 secondary, 4 danger, 5 link. */
const STYLE = { primary: 1, secondary: 2, danger: 4, link: 5 } as const;

export interface DiscordEmbed {
  title: string;
  description?: string;
  color: number;
  fields?: { name: string; value: string; inline: boolean }[];
  footer?: { text: string };
}

export type DiscordButton =
  | { type: 2; style: typeof STYLE.link; label: string; url: string }
  | { type: 2; style: 1 | 2 | 4; label: string; custom_id: string };

export interface DiscordActionRow {
  type: 1;
  components: DiscordButton[];
}

/** A message body for channel messages, interaction responses and follow-ups alike. */
export interface DiscordMessageBody {
  content: string;
  embeds: DiscordEmbed[];
  components: DiscordActionRow[];
  /** Never ping anyone: prompts and titles are user text. */
  allowed_mentions: { parse: never[] };
  flags?: number;
  message_reference?: { message_id: string; fail_if_not_exists: false };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const URL_PATTERN = /https?:\/\/[^\s<>]+/g;

function escapeSegment(text: string): string {
  return (
    text
      .replace(/[\\*_~`|[\]<>]/g, (c) => `\\${c}`)
      // Headings, quotes and lists only count at the start of a line.
      .replace(/^(\s*)([#>-])/gm, '$1\\$2')
      // Discord turns @everyone / @here into pings or highlights; a zero-width space defuses them.
      .replace(/@(everyone|here)/g, '@\u200b$1')
  );
}

/**
 * Escapes Discord markdown in user text (prompts, titles, reasons) so it shows as written and
 * cannot forge masked links or mentions. URLs are left intact so they stay clickable.
 */
export function escapeMarkdown(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(URL_PATTERN)) {
    out += escapeSegment(text.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + escapeSegment(text.slice(last));
}

/** `stop:k7fq2m9xwd`: what a button asks for, within Discord's 100 characters. */
export function customIdFor(action: string, sessionId: string, version?: number): string {
  return truncate(
    `${action}:${actionTarget({ sessionId, ...(version === undefined ? {} : { version }) })}`,
    LIMITS.customId,
  );
}

function renderButton(button: Button): DiscordButton | undefined {
  const label = truncate(button.label, LIMITS.buttonLabel);
  if (button.kind === 'link') {
    // A link button must have a valid http(s) URL and no custom_id; it sends no interaction.
    if (!/^https?:\/\//.test(button.url) || button.url.length > LIMITS.url) return undefined;
    return { type: 2, style: STYLE.link, label, url: button.url };
  }
  const style =
    button.style === 'danger' ? STYLE.danger : button.style === 'primary' ? STYLE.primary : STYLE.secondary;
  return { type: 2, style, label, custom_id: customIdFor(button.action, button.sessionId, button.version) };
}

/** Up to 5 buttons per row, 5 rows per message. */
export function renderComponents(buttons: readonly Button[] | undefined): DiscordActionRow[] {
  const rendered = (buttons ?? []).map(renderButton).filter((b): b is DiscordButton => b !== undefined);
  const rows: DiscordActionRow[] = [];
  for (let i = 0; i < rendered.length && rows.length < LIMITS.rows; i += LIMITS.buttonsPerRow) {
    rows.push({ type: 1, components: rendered.slice(i, i + LIMITS.buttonsPerRow) });
  }
  return rows;
}

/**
 * The status card and every other reply: one embed (stage, progress bar, fields) plus buttons.
 * Each part is cut to its own limit and all of them to Discord's 6000 characters per message
 * (https://discord.com/developers/docs/resources/message#embed-object-embed-limits), which
 * refuses the whole message otherwise: title first, then the text, the fields, the footer.
 */
export function renderEmbed(view: ReplyView): DiscordEmbed {
  let left: number = LIMITS.embedTotal;
  /** Cut to the part's own limit and to what is left of the message's; '' when nothing is. */
  const take = (text: string, max: number): string => {
    const room = Math.min(max, left);
    if (room <= 0) return '';
    const cut = truncate(text, room);
    left -= cut.length;
    return cut;
  };
  const title = take(escapeMarkdown(view.title), LIMITS.title);
  const description = view.text.trim() === '' ? '' : take(escapeMarkdown(view.text), LIMITS.description);
  const wanted: { name: string; value: string; inline: boolean }[] = [];
  if (view.progress) {
    wanted.push({ name: 'Progress', value: textProgressBar(view.progress.percent), inline: false });
  }
  for (const f of view.fields ?? []) {
    wanted.push({ name: escapeMarkdown(f.label), value: escapeMarkdown(f.value) || '\u200b', inline: true });
  }
  const fields: NonNullable<DiscordEmbed['fields']> = [];
  for (const f of wanted.slice(0, LIMITS.fields)) {
    // A field needs a name and a value: one that no longer fits is left out whole.
    if (left < 2) break;
    const name = take(f.name, Math.min(LIMITS.fieldName, left - 1));
    const value = take(f.value, LIMITS.fieldValue);
    fields.push({ name, value, inline: f.inline });
  }
  // Footers show no markdown: plain text as it is.
  const footer = view.footer ? take(view.footer, LIMITS.footer) : '';
  return {
    title,
    ...(description ? { description } : {}),
    color: TONE_COLOR[view.tone],
    ...(fields.length > 0 ? { fields } : {}),
    ...(footer ? { footer: { text: footer } } : {}),
  };
}

export function renderMessage(view: ReplyView): DiscordMessageBody {
  return {
    content: '',
    embeds: [renderEmbed(view)],
    components: renderComponents(view.buttons),
    allowed_mentions: { parse: [] },
  };
}

/** An interaction response as Discord takes it, from the callback endpoint or in the HTTP answer. */
export interface InteractionResponseBody {
  readonly type: InitialResponse['type'];
  readonly data?: Partial<DiscordMessageBody>;
}

/**
 * The body of an initial response. A deferred one may carry no flag but EPHEMERAL; a message
 * (type 4) is a whole message, whose flags may be EPHEMERAL among a few others
 * (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-interaction-callback-data-structure).
 */
export function interactionResponseBody(response: InitialResponse): InteractionResponseBody {
  const flags =
    response.type !== CALLBACK.deferredUpdate && response.ephemeral ? { flags: EPHEMERAL_FLAG } : {};
  switch (response.type) {
    case CALLBACK.channelMessage:
      return { type: response.type, data: { ...renderMessage(response.view), ...flags } };
    case CALLBACK.deferredMessage:
      return response.ephemeral ? { type: response.type, data: flags } : { type: response.type };
    default:
      return { type: response.type };
  }
}

/** A thread name from a card title: one line, 1-100 characters. */
export function threadName(view: ReplyView): string {
  const name = view.title.replace(/\s+/g, ' ').trim();
  return truncate(name === '' ? 'SpawnAI app' : name, LIMITS.threadName);
}
