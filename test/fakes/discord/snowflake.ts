/** Discord's epoch (2015-01-01T00:00:00Z) in unix ms. */
export const DISCORD_EPOCH_MS = 1_420_070_400_000;
let increment = 0n;

/** A real-format snowflake: ms since the Discord epoch in the top bits, so ids sort by time. */
export function snowflake(at: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return ((BigInt(at - DISCORD_EPOCH_MS) << 22n) | (1n << 17n) | increment).toString();
}

export function snowflakeTime(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH_MS;
}
