import { mkdir, rm } from 'node:fs/promises';
import { SpawnError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { ownerAlive, readProxyHolder, thisProcess, writeProxyHolder } from './ownership.js';
import { type PreviewProxy, startPreviewProxy } from './preview-proxy.js';

export interface PreviewPortOptions {
  /** Where the note of who holds the port goes (the provider's runtime folder). */
  readonly runtimeDir: string;
  readonly holderFile: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly domain: string;
  readonly socketOf: (label: string) => string | undefined;
  readonly logger: Logger;
}

/**
 * The preview port of an apps folder. Whoever holds it serves every app of the folder, so a
 * second provider of the same folder (another worker on the machine) shares it instead of
 * failing, and takes it over when the holder goes away.
 */
export function createPreviewPort(options: PreviewPortOptions) {
  let proxy: PreviewProxy | undefined;
  let served: number | undefined;

  async function open(): Promise<void> {
    try {
      proxy = await startPreviewProxy({
        host: options.host,
        port: options.port,
        domain: options.domain,
        socketOf: options.socketOf,
        logger: options.logger,
      });
      served = proxy.port;
      await mkdir(options.runtimeDir, { recursive: true, mode: 0o755 });
      await writeProxyHolder(options.holderFile, { ...(await thisProcess()), port: proxy.port });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.port === 0) throw e;
      const holder = await readProxyHolder(options.holderFile);
      if (holder && holder.port === options.port && (await ownerAlive(holder))) {
        served = holder.port;
        options.logger.info(
          { port: holder.port, pid: holder.pid },
          'previews are served by another process of this folder',
        );
        return;
      }
      throw new SpawnError(
        'ERR_CONFIG',
        `PREVIEW_PORT: port ${options.port} is in use by another program; set PREVIEW_PORT to a free port`,
        { cause: e },
      );
    }
  }

  return {
    open,
    /** The port previews are on: ours, or the holder's; undefined before `open`. */
    port: (): number | undefined => served,
    /** Takes the port over when the process that held it is gone (called now and then). */
    async retake(): Promise<void> {
      if (proxy === undefined && served !== undefined) await open().catch(() => undefined);
    },
    async close(): Promise<void> {
      if (!proxy) return;
      await proxy.close();
      const holder = await readProxyHolder(options.holderFile);
      if (holder?.pid === process.pid && holder.port === proxy.port)
        await rm(options.holderFile, { force: true });
      proxy = undefined;
    },
  };
}
