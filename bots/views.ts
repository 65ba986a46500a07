import type { Button, ReplyView, Stage, ViewField } from '../src/core/view.js';
import type { BuildRow, SessionRow } from '../src/db/repos/index.js';
import type { SpawnError } from '../src/errors.js';
import type { StatusInput, StatusViews } from '../src/notify/views.js';
import type { PlanLimits } from '../src/spawn/limits.js';
import { formatClock, formatDuration, formatUsd, timeLeft, truncate } from './format.js';

export interface ViewOptions {
  /** "the offline builder (no ANTHROPIC_API_KEY set)" or "Claude (claude-sonnet-5-5)". */
  readonly builderLabel: string;
  readonly offline: boolean;
  readonly billing: boolean;
  readonly freeLimits: PlanLimits;
}

const STAGE_LABEL: Record<Stage, string> = {
  queued: 'Queued',
  building: 'Building',
  deploying: 'Deploying',
  live: 'Live',
  failed: 'Failed',
  stopped: 'Stopped',
  expired: 'Expired',
};

export function titleOf(session: Pick<SessionRow, 'title' | 'prompt'>): string {
  return session.title || truncate(session.prompt, 60);
}

export type Views = StatusViews & ReturnType<typeof createViews>;

/** Every reply the bot gives, as platform-neutral views. */
export function createViews(options: ViewOptions) {
  const builtBy = `Built by ${options.builderLabel}.`;
  const footerFor = (session: SessionRow) => `${options.offline ? builtBy : builtBy} App id ${session.id}.`;

  function controls(session: SessionRow, live: boolean): Button[] {
    const buttons: Button[] = [];
    if (live && session.previewUrl)
      buttons.push({ kind: 'link', label: 'Open preview', url: session.previewUrl });
    if (live) buttons.push({ kind: 'action', label: 'Extend', action: 'extend', sessionId: session.id });
    buttons.push({ kind: 'action', label: 'Stop', action: 'stop', sessionId: session.id, style: 'danger' });
    return buttons;
  }

  /** Undo (back to the version before this card's) and Export, on the card of a live version. */
  function versionControls(session: SessionRow, build: BuildRow | undefined): Button[] {
    const buttons: Button[] = [];
    const version = build?.version ?? undefined;
    if (version && version > 1) {
      buttons.push({
        kind: 'action',
        label: 'Undo',
        action: 'undo',
        sessionId: session.id,
        version: version - 1,
      });
    }
    buttons.push({ kind: 'action', label: 'Export', action: 'export', sessionId: session.id });
    return buttons;
  }

  function fields(input: StatusInput, stage: Stage): ViewField[] {
    const { session, build, now } = input;
    const out: ViewField[] = [{ label: 'Stage', value: STAGE_LABEL[stage] }];
    if (build?.version) out.push({ label: 'Version', value: String(build.version) });
    else if (build && build.iteration > 1) out.push({ label: 'Change', value: `#${build.iteration}` });
    const left = session.status === 'live' ? timeLeft(session.expiresAt, now) : undefined;
    if (left) out.push({ label: 'Time left', value: left });
    out.push({ label: 'Cost so far', value: formatUsd(input.sessionCostMicroUsd) });
    return out;
  }

  const views = {
    statusCard(input: StatusInput): ReplyView {
      const { session, event } = input;
      const stage = event.stage;
      const title = titleOf(session);
      const live = stage === 'live' && session.status === 'live';
      const ended =
        stage === 'stopped' || stage === 'expired' || (stage === 'failed' && session.status === 'failed');
      const text =
        stage === 'live'
          ? `Live at ${session.previewUrl ?? '(address pending)'}${event.detail ? `\n${event.detail}` : ''}`
          : stage === 'failed'
            ? `Failed: ${event.reason ?? event.detail}`
            : stage === 'stopped'
              ? 'Stopped. The app has been removed.'
              : stage === 'expired'
                ? 'Expired: its time ran out. The app has been removed.'
                : event.detail;
      return {
        tone: live ? 'success' : stage === 'failed' ? 'error' : ended ? 'info' : 'progress',
        title,
        text,
        progress: { stage, percent: event.percent, detail: event.detail },
        fields: fields(input, stage),
        buttons: ended ? [] : [...controls(session, live), ...(input.upgrade ? [input.upgrade] : [])],
        footer: footerFor(session),
        sessionId: session.id,
        ...(live && session.expiresAt ? { expiresAt: session.expiresAt.toISOString() } : {}),
      };
    },

    endingSoon(session: SessionRow, now: Date): ReplyView {
      const left = timeLeft(session.expiresAt, now) ?? 'a few minutes';
      return {
        tone: 'info',
        title: `${titleOf(session)} ends in ${left}`,
        text:
          `Your app ${session.previewUrl ?? ''} will be destroyed in ${left}. ` +
          'Extend it to keep it running, or export its source to keep a copy.',
        buttons: [
          { kind: 'action', label: 'Extend', action: 'extend', sessionId: session.id, style: 'primary' },
          { kind: 'action', label: 'Export', action: 'export', sessionId: session.id },
        ],
        footer: footerFor(session),
        sessionId: session.id,
        ...(session.expiresAt ? { expiresAt: session.expiresAt.toISOString() } : {}),
      };
    },

    resultMessage(input: StatusInput): ReplyView {
      const { session, event, build, now } = input;
      const title = titleOf(session);
      const footer = footerFor(session);
      switch (event.stage) {
        case 'live': {
          const until = session.expiresAt ? ` until ${formatClock(session.expiresAt, now)}` : '';
          const rollback = build?.rollbackOf ?? undefined;
          const change = rollback
            ? `Rolled back to version ${rollback}`
            : build && build.iteration > 1
              ? `Change #${build.iteration} is live`
              : 'Your app is live';
          const summary = build?.summary && !rollback ? `\n${build.summary}` : '';
          return {
            tone: 'success',
            title: `${title} is ready`,
            text: `${change}: ${session.previewUrl}\nIt runs${until}.${summary}`,
            fields: fields(input, 'live'),
            buttons: [
              ...controls(session, true),
              ...versionControls(session, build),
              ...(input.upgrade ? [input.upgrade] : []),
            ],
            footer,
            sessionId: session.id,
            ...(session.expiresAt ? { expiresAt: session.expiresAt.toISOString() } : {}),
          };
        }
        case 'failed':
          return {
            tone: 'error',
            title: `${title}: build failed`,
            text:
              build && build.iteration > 1 && session.status === 'live'
                ? `Change #${build.iteration} failed: ${event.reason ?? event.detail}\nThe previous version is still running at ${session.previewUrl}.`
                : `I could not build it: ${event.reason ?? event.detail}\nTry again, perhaps with a simpler request.`,
            footer,
            sessionId: session.id,
          };
        case 'stopped':
          return {
            tone: 'info',
            title: `${title} stopped`,
            text: 'The app has been removed.',
            footer,
            sessionId: session.id,
          };
        case 'expired':
          return {
            tone: 'info',
            title: `${title} expired`,
            text: 'Its time ran out and the app has been removed. Send /spawn to build a new one.',
            footer,
            sessionId: session.id,
          };
        default:
          return views.statusCard(input);
      }
    },

    help(): ReplyView {
      const l = options.freeLimits;
      const limits = `${l.liveSessions} app${l.liveSessions === 1 ? '' : 's'} at once, ${l.buildsPerDay} builds a day, each app lives ${formatDuration(l.ttlMinutes * 60_000)}`;
      return {
        tone: 'info',
        title: 'SpawnAI',
        text: [
          'Tell me what to build and I will write it, run it and send you a link.',
          '',
          '/spawn <what to build>: a new app (or just write it)',
          'Any other message here: a change to the app of this conversation',
          '/status [id]: where an app is',
          '/list: your apps',
          '/link: one account (plan, credits, apps) on several platforms; /unlink undoes it',
          '/stop [id]: stop an app',
          '/extend [id]: give an app more time',
          '/versions [id]: the versions of an app; /rollback <n>: run version n again',
          '/export [id]: download the source of an app',
          '/help: this message',
          '',
          options.billing
            ? `Free plan: ${limits}. /upgrade for more, /buy for build credits, /billing for your plan.`
            : `Billing is off on this server: no limits beyond the local quota (${limits}).`,
        ].join('\n'),
        footer: `Apps are built by ${options.builderLabel}.`,
      };
    },

    unknownCommand(name: string): ReplyView {
      return {
        tone: 'error',
        title: 'Unknown command',
        text: `I do not know /${truncate(name, 40)}. Try /help for what I can do.`,
        ephemeral: true,
      };
    },

    error(e: SpawnError): ReplyView {
      return { tone: 'error', title: errorTitle(e), text: e.userMessage, ephemeral: true };
    },

    queued(session: SessionRow, iteration: number, duplicate: boolean): ReplyView {
      const what =
        iteration > 1 ? `change #${iteration} to ${titleOf(session)}` : truncate(session.prompt, 80);
      return {
        tone: 'progress',
        title: duplicate ? 'Already on it' : 'Queued',
        text: duplicate
          ? `I already have this request: ${what}.`
          : `Building ${what}. I will post progress here.`,
        sessionId: session.id,
        ephemeral: true,
      };
    },

    sessionSummary(session: SessionRow, now: Date): ReplyView {
      const left = session.status === 'live' ? timeLeft(session.expiresAt, now) : undefined;
      const f: ViewField[] = [{ label: 'Stage', value: STAGE_LABEL[session.status] }];
      if (left) f.push({ label: 'Time left', value: left });
      if (session.statusReason && session.status !== 'live')
        f.push({ label: 'Why', value: session.statusReason });
      const live = session.status === 'live';
      const active = ['queued', 'building', 'deploying', 'live'].includes(session.status);
      return {
        tone: live ? 'success' : session.status === 'failed' ? 'error' : active ? 'progress' : 'info',
        title: titleOf(session),
        text: live ? `Live at ${session.previewUrl}` : STAGE_LABEL[session.status],
        fields: f,
        buttons: active ? controls(session, live) : [],
        footer: `App id ${session.id}.`,
        sessionId: session.id,
        ...(live && session.expiresAt ? { expiresAt: session.expiresAt.toISOString() } : {}),
      };
    },

    list(sessions: readonly SessionRow[], now: Date): ReplyView {
      if (sessions.length === 0) {
        return {
          tone: 'info',
          title: 'Your apps',
          text: 'You have no apps yet. Send /spawn <what to build>.',
        };
      }
      // A linked account's apps come from several platforms: say which is where.
      const platforms = new Set(sessions.map((s) => s.platform)).size > 1;
      const lines = sessions.map((s) => {
        const left = s.status === 'live' ? timeLeft(s.expiresAt, now) : undefined;
        const where = s.status === 'live' && s.previewUrl ? ` ${s.previewUrl}` : '';
        const from = platforms ? ` [${s.platform}]` : '';
        return `• ${titleOf(s)} (${s.id})${from}: ${STAGE_LABEL[s.status]}${left ? `, ${left} left` : ''}${where}`;
      });
      return { tone: 'info', title: 'Your apps', text: lines.join('\n') };
    },

    stopping(session: SessionRow): ReplyView {
      return {
        tone: 'info',
        title: `Stopping ${titleOf(session)}`,
        text: 'The app is being removed.',
        sessionId: session.id,
      };
    },

    extended(session: SessionRow, now: Date): ReplyView {
      const until = session.expiresAt;
      return {
        tone: 'success',
        title: `${titleOf(session)} extended`,
        text: until
          ? `It now runs until ${formatClock(until, now)} (${timeLeft(until, now)} from now).`
          : `It will run for ${formatDuration(session.ttlMinutes * 60_000)} once it is live.`,
        sessionId: session.id,
        ...(until ? { expiresAt: until.toISOString() } : {}),
      };
    },

    versions(session: SessionRow, versions: readonly BuildRow[], now: Date): ReplyView {
      const current = versions.at(-1)?.version;
      const lines = versions.map((b) => {
        const at = b.deployedAt ?? b.finishedAt ?? b.createdAt;
        const what = b.rollbackOf
          ? `Rolled back to version ${b.rollbackOf}`
          : truncate(b.summary || b.prompt, 80);
        return `${b.version}. ${formatClock(at, now)}: ${what}${b.version === current ? ' (running)' : ''}`;
      });
      return {
        tone: 'info',
        title: `${titleOf(session)}: versions`,
        text:
          versions.length === 0
            ? 'No version is live yet.'
            : `${lines.join('\n')}\n\nSend /rollback <number> to run an earlier version again.`,
        buttons: versions.length > 0 ? versionControls(session, undefined) : [],
        footer: `App id ${session.id}.`,
        sessionId: session.id,
        ephemeral: true,
      };
    },

    rollingBack(session: SessionRow, version: number, duplicate: boolean): ReplyView {
      return {
        tone: 'progress',
        title: duplicate ? 'Already on it' : 'Rolling back',
        text: `Rolling back ${titleOf(session)} to version ${version}. I will post here when it is live.`,
        sessionId: session.id,
        ephemeral: true,
      };
    },

    exportReady(session: SessionRow, version: number, url: string, expiresAt: Date, now: Date): ReplyView {
      return {
        tone: 'success',
        title: `Download ${titleOf(session)}`,
        text: `Version ${version}, the source as it runs, with a README on how to start it: ${url}\nThe link works until ${formatClock(expiresAt, now)}.`,
        buttons: [{ kind: 'link', label: 'Download (zip)', url }],
        sessionId: session.id,
        ephemeral: true,
      };
    },

    billingOff(): ReplyView {
      const l = options.freeLimits;
      return {
        tone: 'info',
        title: 'Nothing to buy here',
        text: `Billing is off on this server. Everyone has the local quota: ${l.liveSessions} apps at once, ${l.buildsPerDay} builds a day.`,
        ephemeral: true,
      };
    },

    noSession(): ReplyView {
      return {
        tone: 'info',
        title: 'No app here',
        text: 'There is no app in this conversation. Send /spawn <what to build> to start one, or /list for yours.',
        ephemeral: true,
      };
    },
  };
  return views;
}

function errorTitle(e: SpawnError): string {
  switch (e.kind) {
    case 'budget':
      return 'Limit reached';
    case 'permission':
      return 'Not allowed';
    case 'not_found':
      return 'Not found';
    case 'rate_limited':
      return 'Slow down';
    default:
      return 'Cannot do that';
  }
}
