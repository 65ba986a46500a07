/** Where the tests find the machine's real servers; CI and the README rely on these defaults. */
const env = process.env;

export const TEST_POSTGRES_ADMIN_URL = env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Where what outlives a run is kept (the PGlite template); set by test/memory-tmpdir.ts. */
export const TEST_CACHE_DIR = env.SPAWNAI_TEST_CACHE_DIR;
