import type { Button, ReplyView } from '../core/view.js';
import type { BuildRow, SessionRow } from '../db/repos/index.js';
import type { ProgressEvent } from './progress.js';

export interface StatusInput {
  readonly session: SessionRow;
  readonly build: BuildRow | undefined;
  readonly event: ProgressEvent;
  /** LLM cost of the whole session so far. */
  readonly sessionCostMicroUsd: number;
  readonly now: Date;
  /** An Upgrade button, when billing says the owner may want one. */
  readonly upgrade?: Button | undefined;
}

/**
 * How status is put into words; implemented by the platform-neutral conversation (bots/),
 * injected into the worker by the composition root.
 */
export interface StatusViews {
  /** The status card, edited in place as the build moves. */
  statusCard(input: StatusInput): ReplyView;
  /** The final result, posted as a new message so the person gets a notification. */
  resultMessage(input: StatusInput): ReplyView;
  /** Posted once before a live app's time runs out: what is left, and how to keep it. */
  endingSoon(session: SessionRow, now: Date): ReplyView;
}
