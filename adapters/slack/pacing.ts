import type { ReplyView } from '../../src/core/view.js';
import { SpawnError } from '../../src/errors.js';
import { SlidingWindowLimiter } from '../../src/lib/rate-limiter.js';
import { rateLimitDelay, retry } from '../../src/lib/retry.js';
import type { Redis } from '../../src/redis/connection.js';

/**
 * `chat.update` is Tier 3: "50+ per minute", counted per method, per app, per workspace
 * (https://docs.slack.dev/apis/web-api/rate-limits), not per message or channel. All the
 * status cards of one workspace share it.
 */
export const SLACK_UPDATE_TIER3_PER_MINUTE = 50;
/** Edits SpawnAI itself allows per workspace and window: below Slack's 50, a few spare for skew. */
export const SLACK_WORKSPACE_UPDATES_PER_WINDOW = 45;
/** Of those, kept for cards reaching their final state (live, failed, stopped): progress never takes them. */
export const SLACK_FINAL_UPDATES_RESERVED = 10;
export const SLACK_UPDATE_WINDOW_MS = 60_000;
/**
 * Our window is this much longer than Slack's: an edit counted here reaches Slack a little
 * later, and must not land in Slack's next window on top of that window's own edits.
 */
export const SLACK_UPDATE_WINDOW_MARGIN_MS = 1_000;
/** A spent budget that frees up within this long is waited for in process; longer, the notify job is delayed. */
export const SLACK_MAX_INLINE_WAIT_MS = 1_000;
const INLINE_WAIT_ATTEMPTS = 3;

/** The per-workspace edit budget as this adapter applies it. Tests shorten the window. */
export interface SlackPacing {
  updatesPerWindow: number;
  finalReserved: number;
  windowMs: number;
  windowMarginMs: number;
}

export function defaultSlackPacing(): SlackPacing {
  return {
    updatesPerWindow: SLACK_WORKSPACE_UPDATES_PER_WINDOW,
    finalReserved: SLACK_FINAL_UPDATES_RESERVED,
    windowMs: SLACK_UPDATE_WINDOW_MS,
    windowMarginMs: SLACK_UPDATE_WINDOW_MARGIN_MS,
  };
}

const FINAL_STAGES = new Set(['live', 'failed', 'stopped', 'expired']);

/** A card in its final state: its edit comes before progress edits when the budget is short. */
export function isFinalView(view: ReplyView): boolean {
  return view.progress ? FINAL_STAGES.has(view.progress.stage) : view.tone !== 'progress';
}

/**
 * One `chat.update` budget per workspace, counted in Redis so every worker process shares it.
 * Progress edits may use all but the reserved share of a window; final states may use all of
 * it. A spent budget is `ERR_PLATFORM_RATE_LIMITED` with `retryAfterMs`, which the notify
 * worker waits out by delaying the job (intermediate states coalesce meanwhile; the final
 * state is kept), so Slack sees no 429 storm however many cards are building.
 */
export class SlackUpdateBudget {
  private readonly limiter: SlidingWindowLimiter;

  constructor(
    redis: Redis,
    prefix: string,
    private readonly pacing: SlackPacing,
  ) {
    this.limiter = new SlidingWindowLimiter(redis, prefix);
  }

  /**
   * Makes one edit within the workspace's budget. Slack counts an edit when it arrives, which
   * can be well after we took it from the budget (a busy event loop, a slow network); so once
   * the call is answered the edit counts from then, as Telegram's budget does. A window at our
   * end then holds every edit one at Slack's end holds, however late the edit went out.
   */
  async spend<T>(teamId: string, final: boolean, send: () => Promise<T>): Promise<T> {
    const member = await this.acquire(teamId, final);
    try {
      return await send();
    } finally {
      // Best effort: an edit counted from its start is at worst a little early.
      await this.limiter.settle(this.key(teamId), member, this.windowMs()).catch(() => undefined);
    }
  }

  private key(teamId: string): string {
    return `slack:${teamId}:chat.update`;
  }

  private windowMs(): number {
    return this.pacing.windowMs + this.pacing.windowMarginMs;
  }

  /** Takes one edit from the budget; returns its entry in the window. */
  private async acquire(teamId: string, final: boolean): Promise<string> {
    const { updatesPerWindow, finalReserved } = this.pacing;
    const max = final ? updatesPerWindow : Math.max(1, updatesPerWindow - finalReserved);
    return await retry(
      async () => {
        let decision: { allowed: boolean; retryAfterMs: number; member?: string };
        try {
          decision = await this.limiter.hit(this.key(teamId), max, this.windowMs());
        } catch (e) {
          throw new SpawnError('ERR_INTERNAL', 'The Slack edit budget in Redis could not be read.', {
            cause: e,
          });
        }
        if (decision.allowed && decision.member !== undefined) return decision.member;
        throw new SpawnError('ERR_EDIT_BUDGET_SPENT', 'The Slack edit budget of this workspace is spent.', {
          retryAfterMs: Math.max(decision.retryAfterMs, 50),
        });
      },
      {
        attempts: INLINE_WAIT_ATTEMPTS,
        // A short wait is sat out here; a longer one goes to the notify worker, which delays the job.
        delay: (e) => {
          const ms = rateLimitDelay(e);
          return ms === undefined || ms > SLACK_MAX_INLINE_WAIT_MS ? undefined : ms + 10;
        },
      },
    );
  }
}
