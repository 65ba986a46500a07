import type { StartupFailure } from '../errors.js';
import type { Effort } from './claude/models.js';

/** The picture types Claude reads (https://platform.claude.com/docs/en/build-with-claude/vision). */
export type ImageMediaType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';

/** A fetched, checked picture, held in memory for one build. */
export interface ImageInput {
  readonly name: string;
  /** The type of the bytes themselves (magic number), not what the platform declared. */
  readonly mediaType: ImageMediaType;
  readonly data: Buffer;
}

/**
 * A builder turns a request (and, for an iteration, the previous files) into the files of
 * a runnable app. `offline` picks from templates; `claude` has Claude write them.
 */

/** One file of an app. Paths are relative, with forward slashes; contents are UTF-8 text. */
export interface AppFile {
  readonly path: string;
  readonly content: string;
}

export interface BuildProgress {
  /** 0-100 within the build stage. */
  readonly percent: number;
  /** Short and safe to show: "wrote server.js (3/5)". */
  readonly detail: string;
}

export interface BuildUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly costMicroUsd: number;
}

export const NO_USAGE: BuildUsage = {
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  costMicroUsd: 0,
};

const usageOfFailure = new WeakMap<object, BuildUsage>();

/**
 * Marks what a failed build used up on the error it throws: those tokens were billed too, and
 * the build row records them.
 */
export function withUsage<E>(error: E, usage: BuildUsage): E {
  if (typeof error === 'object' && error !== null) usageOfFailure.set(error, usage);
  return error;
}

/** What a failed build used up, when its builder said so; nothing for the offline builder. */
export function usageOfFailedBuild(error: unknown): BuildUsage | undefined {
  return typeof error === 'object' && error !== null ? usageOfFailure.get(error) : undefined;
}

export interface BuildBudget {
  readonly maxOutputTokens: number;
  readonly wallTimeMs: number;
}

export interface BuildRequest {
  readonly sessionId: string;
  readonly buildId: string;
  /** What the person asked for in this message. */
  readonly prompt: string;
  /** The session's first prompt, for an iteration's context. */
  readonly originalPrompt: string;
  /** Files of the previous live build; absent on the first build. */
  readonly previousFiles?: readonly AppFile[];
  /** Pictures attached to this request, fetched and checked; held in memory for this build only. */
  readonly images?: readonly ImageInput[];
  readonly budget: BuildBudget;
  readonly model?: string;
  /** How hard the model thinks (the plan's, else ANTHROPIC_EFFORT); ignored by models without it. */
  readonly effort?: Effort;
  readonly onProgress: (progress: BuildProgress) => void;
  readonly signal: AbortSignal;
}

export interface BuildFinding {
  readonly rule: string;
  readonly path: string;
  readonly line?: number;
  readonly excerpt?: string;
}

export interface BuildResult {
  readonly files: readonly AppFile[];
  /** Human title of the app, taken from the prompt ("Climbing Gym Todo List"). */
  readonly title: string;
  /** One line on what was built or changed. */
  readonly summary: string;
  readonly usage: BuildUsage;
  readonly model?: string;
  readonly promptVersion?: string;
  readonly findings: readonly BuildFinding[];
  /**
   * Present when the builder can repair this app after it was deployed and did not start: a
   * repair turn that hands the failed check and the app's last log lines back to the model.
   * The result is a new version of the app (its usage is that of the repair alone).
   */
  readonly repair?: (request: RepairRequest) => Promise<BuildResult>;
}

/** One repair of an app that did not start. */
export interface RepairRequest {
  readonly failure: StartupFailure;
  /** 1 for the first repair of this build. */
  readonly attempt: number;
  readonly onProgress: (progress: BuildProgress) => void;
  readonly signal: AbortSignal;
}

export interface Builder {
  readonly name: 'offline' | 'claude';
  /** Shown in every reply about a build ("Built by the offline builder ..."). */
  readonly label: string;
  build(request: BuildRequest): Promise<BuildResult>;
}
