import type { Config } from '../config/index.js';

/** A set-up command of one platform, run by the CLI as `spawnai <name> <args...>`. */
export interface PlatformCommand {
  /** `slack`, `discord`, `telegram`. */
  readonly name: string;
  /** One line per subcommand for `spawnai help`. */
  readonly usage: readonly string[];
  /**
   * Runs the command; writes its output to `out`. Throws a StartupError (one line, exit 1)
   * for bad arguments or missing configuration.
   */
  run(args: readonly string[], config: Config, out: (text: string) => void): Promise<void>;
}
