import type { Rule } from './limits.js';

export interface FakeUser {
  readonly id: number;
  readonly is_bot: boolean;
  readonly first_name: string;
  readonly last_name?: string;
  readonly username?: string;
}

export interface FakeChat {
  readonly id: number;
  readonly type: 'private' | 'group' | 'supergroup';
  readonly title?: string;
  readonly first_name?: string;
  readonly is_forum?: boolean;
}

export interface FakeButton {
  readonly text: string;
  readonly url?: string;
  readonly callback_data?: string;
}

export interface FakeMarkup {
  readonly inline_keyboard: readonly (readonly FakeButton[])[];
}

export interface FakeEntity {
  readonly type: string;
  readonly offset: number;
  readonly length: number;
}

export interface FakeInvoice {
  readonly title: string;
  readonly description: string;
  readonly payload: string;
  readonly currency: string;
  readonly total_amount: number;
}

export interface FakeSuccessfulPayment {
  readonly currency: string;
  readonly total_amount: number;
  readonly invoice_payload: string;
  readonly telegram_payment_charge_id: string;
  readonly provider_payment_charge_id: string;
}

/** A message in a chat, as the fake keeps it (the bot's and the people's). */
/** https://core.telegram.org/bots/api#photosize */
export interface FakePhotoSize {
  readonly file_id: string;
  readonly file_unique_id: string;
  readonly width: number;
  readonly height: number;
  readonly file_size?: number;
}

/** A file the fake holds for getFile and the file download URL. */
export interface FakeFile {
  readonly fileId: string;
  readonly uniqueId: string;
  readonly path: string;
  readonly bytes: Buffer;
}

export interface FakeMessage {
  readonly chatId: number;
  readonly messageId: number;
  readonly from: FakeUser;
  readonly date: number;
  /** Plain text after entity parsing. */
  text?: string;
  /** The text the bot sent it with (edits change `text`). */
  readonly firstText?: string;
  /** The HTML exactly as the bot sent it (parse_mode HTML). */
  html?: string;
  entities?: FakeEntity[];
  replyMarkup?: FakeMarkup | undefined;
  readonly replyTo?: number;
  readonly topic?: number;
  readonly invoice?: FakeInvoice;
  readonly successfulPayment?: FakeSuccessfulPayment;
  /** A photo: its sizes, smallest first (https://core.telegram.org/bots/api#message `photo`). */
  readonly photo?: readonly FakePhotoSize[];
  /** A file sent as a document (https://core.telegram.org/bots/api#document). */
  readonly document?: {
    file_id: string;
    file_unique_id: string;
    file_name?: string;
    mime_type?: string;
    file_size?: number;
  };
  /** The caption of a photo or document, and its entities (commands, mentions). */
  readonly caption?: string;
  readonly captionEntities?: FakeEntity[];
  /** Every edit, oldest first. */
  readonly edits: { text: string; html?: string; at: number }[];
  readonly sentAt: number;
}

/** One Bot API call as the fake saw it. */
export interface FakeCall {
  readonly method: string;
  readonly chatId?: number;
  readonly status: number;
  readonly at: number;
  readonly body: Record<string, unknown>;
}

export interface FakeTelegramOptions {
  /** The bot token the fake accepts (default `123:abc`). */
  token?: string;
  botUsername?: string;
  /** Messages (sends, edits, invoices) per private chat; default 10 per 10 s (about 1/s with bursts). */
  privateLimit?: Rule;
  /** Messages per group; Telegram's 20 per minute by default. */
  groupLimit?: Rule;
  /** Messages per second for the whole bot; default 30. */
  globalLimit?: Rule;
  /** How long a pre-checkout query may wait for its answer (Telegram: 10 s). */
  preCheckoutTimeoutMs?: number;
}

export type Update = Record<string, unknown> & { update_id: number };
