import type { FastifyInstance } from 'fastify';
import type { VersionService } from './service.js';

/** `GET /export/<token>`: the zip of an app's version, behind a signed, expiring link. */
export async function registerExportRoutes(app: FastifyInstance, versions: VersionService): Promise<void> {
  app.get<{ Params: { token: string } }>('/export/:token', async (request, reply) => {
    const { filename, zip } = await versions.download(request.params.token);
    return reply
      .header('content-type', 'application/zip')
      .header('content-disposition', `attachment; filename="${filename}"`)
      .header('cache-control', 'private, no-store')
      .send(zip);
  });
}
