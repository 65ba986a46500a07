import type { SpawnError } from '../../errors.js';
import type { Provider, ProviderName } from '../types.js';

/**
 * A cloud provider that can say, before any work starts, that a new deploy would be refused:
 * its circuit is open, or (Render) its budget of new services is spent. The worker then fails
 * fast with that error, or moves a new session to {@link GuardedProvider.fallback}.
 */
export interface GuardedProvider extends Provider {
  /** How people know it ("Railway"). */
  readonly label: string;
  /** The provider a new session may move to when this one refuses (PROVIDER_FALLBACK). */
  readonly fallback?: ProviderName;
  /**
   * Why a deploy of `sessionId` cannot start now, or undefined when it can. Does not call the
   * provider while its circuit is open.
   */
  refusal(sessionId: string): Promise<SpawnError | undefined>;
}

export function isGuarded(provider: Provider): provider is GuardedProvider {
  return typeof (provider as Partial<GuardedProvider>).refusal === 'function';
}

export interface ProviderChoice {
  readonly provider: Provider;
  /** Set when the session should move: from where, to where, why, and what to tell the person. */
  readonly switched?: {
    readonly from: ProviderName;
    readonly to: ProviderName;
    readonly reason: string;
    /** "Railway is unavailable right now; running it on Render instead" */
    readonly notice: string;
  };
}

export interface ChooseOptions {
  /** Only a session with no app yet may move (a first build that has not started deploying). */
  readonly canSwitch: boolean;
  /** Providers the session's owner may use (their plan); default: any. */
  readonly allowed?: (name: ProviderName) => boolean;
}

/**
 * The provider a deploy of `sessionId` should go to: `current` when it accepts, else its
 * configured fallback when that one accepts and the session may move.
 *
 * @throws SpawnError the refusal of `current` when there is nowhere else to go.
 */
export async function chooseAvailableProvider(
  providers: ReadonlyMap<ProviderName, Provider>,
  current: Provider,
  sessionId: string,
  options: ChooseOptions,
): Promise<ProviderChoice> {
  if (!isGuarded(current)) return { provider: current };
  const refusal = await current.refusal(sessionId);
  if (!refusal) return { provider: current };
  const alternative = current.fallback ? providers.get(current.fallback) : undefined;
  if (
    !options.canSwitch ||
    !alternative ||
    alternative === current ||
    (options.allowed && !options.allowed(alternative.name)) ||
    (isGuarded(alternative) && (await alternative.refusal(sessionId)))
  ) {
    throw refusal;
  }
  // "Render allows 20 new apps per hour; try again in 12 minutes." -> its first clause.
  const reason = refusal.userMessage.split(';')[0]!.replace(/\.$/, '').trim();
  const label = isGuarded(alternative) ? alternative.label : alternative.name;
  return {
    provider: alternative,
    switched: {
      from: current.name,
      to: alternative.name,
      reason,
      notice: `${reason}; running it on ${label} instead`,
    },
  };
}
