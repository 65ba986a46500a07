import type { AccountHolder, AccountService, IssuedCode } from '../src/accounts/service.js';
import { effectivePlan, PLAN_LABEL } from '../src/billing/plans.js';
import type { ConversationResult } from '../src/core/conversation.js';
import type { ConversationRef, Platform } from '../src/core/platform.js';
import type { ReplyView } from '../src/core/view.js';
import type { IdentityRow, UserRow } from '../src/db/repos/index.js';

/**
 * `link`, `link <code>` and `unlink`: one account across platforms. Kept apart from
 * commands.ts and views.ts: the whole feature is this file and AccountService.
 */
export type AccountCommand = { readonly kind: 'link'; readonly code?: string } | { readonly kind: 'unlink' };

/** The same message for a code that is unknown, used or expired: it tells nothing about anyone. */
export const INVALID_CODE_TEXT = 'That code is not valid or has expired.';

/**
 * After `/spawn link` or a bare `link` a code must look like one (`ABCD-EFGH`, or eight capitals
 * and digits), so `/spawn link checkers for the club` stays a request to build something.
 */
function looksLikeCode(text: string): boolean {
  const t = text.trim();
  if (!/^[A-Za-z0-9]{4}[-\s]?[A-Za-z0-9]{4}$/.test(t)) return false;
  return /[-\s]/.test(t) || /\d/.test(t) || t === t.toUpperCase();
}

function accountWord(word: string, rest: string, strict: boolean): AccountCommand | undefined {
  if (word === 'unlink') return rest === '' ? { kind: 'unlink' } : undefined;
  if (word !== 'link') return undefined;
  if (rest === '') return { kind: 'link' };
  return !strict || looksLikeCode(rest) ? { kind: 'link', code: rest } : undefined;
}

/**
 * `/link [code]`, `/unlink` (Telegram's own commands), `/spawn link [code]`, `/spawn unlink`
 * (Slack's and Discord's one command) and, in a one-to-one chat with bare words (the web chat),
 * `link [code]` and `unlink`. Anything else is not an account command.
 */
export function parseAccountCommand(
  raw: string,
  options: { readonly bareWords?: boolean } = {},
): AccountCommand | undefined {
  const text = raw.trim();
  const command = /^\/([A-Za-z]+)(?:@\w+)?(?:\s+([\s\S]*))?$/.exec(text);
  if (command) {
    const name = command[1]!.toLowerCase();
    const rest = (command[2] ?? '').trim();
    if (name === 'link' || name === 'unlink') return accountWord(name, rest, false);
    if (name !== 'spawn' && name !== 'new') return undefined;
    const [, word = '', more = ''] = /^(\S*)\s*([\s\S]*)$/.exec(rest) ?? [];
    return accountWord(word.toLowerCase(), more.trim(), true);
  }
  if (!options.bareWords) return undefined;
  const [, word = '', more = ''] = /^(\S*)\s*([\s\S]*)$/.exec(text) ?? [];
  return accountWord(word.toLowerCase(), more.trim(), true);
}

const PLATFORM_LABEL: Record<Platform, string> = {
  telegram: 'Telegram',
  slack: 'Slack',
  discord: 'Discord',
  web: 'web chat',
};

function platformsOf(identities: readonly IdentityRow[], except?: Platform): string {
  const names = [...new Set(identities.map((i) => i.platform as Platform))]
    .filter((p) => p !== except)
    .map((p) => PLATFORM_LABEL[p] ?? p);
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

export interface AccountViewOptions {
  /** Billing is on: replies name the account's plan. */
  readonly billing: boolean;
}

export function createAccountViews(options: AccountViewOptions) {
  const planOf = (user: UserRow) => (options.billing ? `the ${PLAN_LABEL[effectivePlan(user)]} plan, ` : '');
  return {
    codeIssued(issued: IssuedCode): ReplyView {
      const c = issued.code;
      const linked = issued.identities.length > 1 ? `\nLinked now: ${platformsOf(issued.identities)}.` : '';
      return {
        tone: 'info',
        title: 'Link another platform',
        text: [
          `Your code: ${c}`,
          `Within 10 minutes, send it from your account on the other platform: /link ${c} in Telegram, /spawn link ${c} in Slack or Discord, link ${c} in the web chat.`,
          `It works once. Whoever sends it shares this account (plan, credits and apps), so use it only for your own accounts.${linked}`,
        ].join('\n'),
        ephemeral: true,
      };
    },

    linked(here: Platform, user: UserRow, identities: readonly IdentityRow[]): ReplyView {
      const others = platformsOf(identities, here) || PLATFORM_LABEL[here];
      return {
        tone: 'success',
        title: 'Accounts linked',
        text: `This ${PLATFORM_LABEL[here]} account is now linked with ${others}: one account with ${planOf(user)}${user.credits} build credits and all your apps. /list shows them all; /unlink undoes this here.`,
        ephemeral: true,
      };
    },

    already(): ReplyView {
      return {
        tone: 'info',
        title: 'Already linked',
        text: 'That code is from this same account. Send it from your account on the other platform.',
        ephemeral: true,
      };
    },

    invalidCode(): ReplyView {
      return { tone: 'error', title: 'Cannot link', text: INVALID_CODE_TEXT, ephemeral: true };
    },

    bothPaid(): ReplyView {
      return {
        tone: 'error',
        title: 'Cannot link',
        text: 'Both accounts pay for a plan, and one account has one plan. Cancel one of them (/billing), and link once it has ended.',
        ephemeral: true,
      };
    },

    unlinked(here: Platform, remaining: readonly IdentityRow[]): ReplyView {
      return {
        tone: 'success',
        title: 'Unlinked',
        text: `This ${PLATFORM_LABEL[here]} account is on its own again, with a new free account. The apps, plan and credits stay with your account on ${platformsOf(remaining)}.`,
        ephemeral: true,
      };
    },

    notHere(): ReplyView {
      return {
        tone: 'info',
        title: 'Link in a private chat',
        text: 'Send /link in a private chat with me: a code shown in a group could be used by anyone in it.',
      };
    },

    alone(): ReplyView {
      return {
        tone: 'info',
        title: 'Nothing to unlink',
        text: 'This account is not linked with another platform. Send /link to link one.',
        ephemeral: true,
      };
    },
  };
}

/**
 * Where a code may be shown: only to the person. Telegram cannot answer one person in a group,
 * so there a code is given in a private chat only; the other platforms answer ephemerally.
 */
function onlyToThePerson(conversation: ConversationRef): boolean {
  return conversation.platform !== 'telegram' || conversation.extra?.chatType === 'private';
}

/** Answers an account command (SpawnErrors such as a rate limit propagate to the conversation). */
export function createAccountConversation(accounts: AccountService, options: AccountViewOptions) {
  const views = createAccountViews(options);
  return async (
    who: AccountHolder,
    command: AccountCommand,
    conversation: ConversationRef,
  ): Promise<ConversationResult> => {
    if (command.kind === 'unlink') {
      const outcome = await accounts.unlink(who);
      return {
        replies: [outcome.kind === 'alone' ? views.alone() : views.unlinked(who.platform, outcome.remaining)],
      };
    }
    if (command.code === undefined) {
      if (!onlyToThePerson(conversation)) return { replies: [views.notHere()] };
      return { replies: [views.codeIssued(await accounts.issue(who))] };
    }
    const outcome = await accounts.redeem(who, command.code);
    switch (outcome.kind) {
      case 'linked':
        return { replies: [views.linked(who.platform, outcome.user, outcome.identities)] };
      case 'already':
        return { replies: [views.already()] };
      case 'both-paid':
        return { replies: [views.bothPaid()] };
      case 'invalid':
        return { replies: [views.invalidCode()] };
    }
  };
}
