import type { Stage } from '../core/view.js';

/** What the worker (or a stop, or the reaper) says about a session's current build. */
export interface ProgressEvent {
  readonly sessionId: string;
  readonly buildId: string;
  readonly iteration: number;
  readonly stage: Stage;
  /** 0-100 over the whole pipeline. */
  readonly percent: number;
  /** A short line, safe to show. */
  readonly detail: string;
  /** The last event of this build: live, failed, stopped or expired. */
  readonly final: boolean;
  /** Why it failed, in words for the person. */
  readonly reason?: string;
  /** Epoch ms. */
  readonly at: number;
}

export interface VersionedEvent {
  readonly version: number;
  readonly event: ProgressEvent;
}

/** Where each stage's progress sits on the card's single 0-100 bar. */
export const STAGE_PERCENT = {
  queued: 2,
  buildingStart: 8,
  buildingEnd: 60,
  storing: 64,
  deployingStart: 70,
  waitingForPreview: 88,
  live: 100,
} as const;
