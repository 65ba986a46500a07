import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeObject {
  body: Buffer;
  contentType: string;
  cacheControl: string | undefined;
  readonly id: string;
  updatedAt: string;
}

export interface FakeBucket {
  readonly name: string;
  readonly public: boolean;
  readonly objects: Map<string, FakeObject>;
}

export interface FakeSupabaseOptions {
  /** The service role key every Storage call must carry (as `apikey` and Bearer). */
  readonly serviceRoleKey: string;
  /** Buckets that exist from the start. */
  readonly buckets?: readonly string[];
}

const BODY_LIMIT_BYTES = 50 * 1024 * 1024;

/**
 * A local Supabase Storage (`/storage/v1`): buckets, object upload (POST, PUT, `x-upsert`),
 * authenticated download, signed URLs (`{signedURL: "/object/sign/...?token="}` and the
 * public GET that checks the token's signature, path and expiry), remove and list. Errors
 * are Storage's `{statusCode, error, message}`. `failNext` answers the next requests with an
 * error status (for retry tests); `corruptDownloads` serves other bytes through signed URLs.
 */
export class FakeSupabase {
  readonly buckets = new Map<string, FakeBucket>();
  /** Downloads through signed URLs, by object key. */
  readonly signedDownloads: string[] = [];
  corruptDownloads = false;
  /**
   * How far the fake's clock runs ahead of the machine's: signed URLs are issued and checked on
   * it, so a test can be an hour (or a day) later for the URLs without waiting.
   */
  clockOffsetMs = 0;
  private readonly failures: number[] = [];
  private readonly secret = randomBytes(32);
  private server: Server | undefined;
  url = '';

  constructor(readonly options: FakeSupabaseOptions) {
    for (const name of options.buckets ?? [])
      this.buckets.set(name, { name, public: false, objects: new Map() });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.error(res, 500, 'InternalError', String(e)));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** The next `count` requests answer `status` (e.g. 503). */
  failNext(count: number, status: number): void {
    for (let i = 0; i < count; i++) this.failures.push(status);
  }

  /** Keys (`<path>` inside the bucket) of the objects in `bucket`. */
  keys(bucket: string): string[] {
    return [...(this.buckets.get(bucket)?.objects.keys() ?? [])].sort();
  }

  private error(res: ServerResponse, status: number, error: string, message: string): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ statusCode: String(status), error, message }));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private sign(key: string, expiresIn: number): string {
    const payload = Buffer.from(
      JSON.stringify({ url: key, exp: Math.floor(this.now() / 1000) + expiresIn }),
    ).toString('base64url');
    const mac = createHmac('sha256', this.secret).update(payload).digest('base64url');
    return `${payload}.${mac}`;
  }

  /**
   * When a signed URL this fake issued stops working (epoch ms, on the fake's clock); undefined
   * for anything else. What a test reads off the URL a cloud was given, as Storage's own JWT says.
   */
  signedUrlExpiresAt(url: string): number | undefined {
    const token = URL.canParse(url) ? new URL(url).searchParams.get('token') : null;
    const [payload, mac] = token?.split('.') ?? [];
    if (!payload || !mac) return undefined;
    const expected = createHmac('sha256', this.secret).update(payload).digest('base64url');
    if (expected !== mac) return undefined;
    return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp: number }).exp * 1000;
  }

  /** The signed key when the token is valid for it, else the reason. */
  private verify(token: string, key: string): string | undefined {
    const [payload, mac] = token.split('.');
    if (!payload || !mac) return 'invalid signature';
    const expected = createHmac('sha256', this.secret).update(payload).digest();
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid signature';
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      url: string;
      exp: number;
    };
    if (claims.url !== key) return 'invalid signature';
    if (claims.exp * 1000 < this.now()) return 'jwt expired';
    return undefined;
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > BODY_LIMIT_BYTES) throw new Error('payload too large');
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    if (!url.pathname.startsWith('/storage/v1/')) return this.error(res, 404, 'not_found', 'not found');
    const failure = this.failures.shift();
    if (failure !== undefined) {
      await this.body(req);
      return this.error(res, failure, 'Unavailable', 'storage is unavailable');
    }
    const parts = url.pathname.slice('/storage/v1/'.length).split('/').map(decodeURIComponent);

    // Signed downloads carry their own authority (the token), not the key.
    if (method === 'GET' && parts[0] === 'object' && parts[1] === 'sign') {
      const [bucketName, ...rest] = parts.slice(2);
      const key = `${bucketName}/${rest.join('/')}`;
      const why = this.verify(url.searchParams.get('token') ?? '', key);
      if (why) return this.error(res, 400, 'InvalidJWT', why);
      const object = this.buckets.get(bucketName ?? '')?.objects.get(rest.join('/'));
      if (!object) return this.error(res, 404, 'not_found', 'Object not found');
      this.signedDownloads.push(rest.join('/'));
      const bytes = this.corruptDownloads
        ? Buffer.concat([object.body, Buffer.from('tampered')])
        : object.body;
      res.writeHead(200, { 'content-type': object.contentType, 'content-length': String(bytes.length) });
      res.end(bytes);
      return;
    }

    const key = this.options.serviceRoleKey;
    if (req.headers.apikey !== key || req.headers.authorization !== `Bearer ${key}`) {
      await this.body(req);
      return this.error(res, 403, 'Unauthorized', 'Invalid JWT');
    }

    if (parts[0] === 'bucket') {
      if (method === 'POST' && parts.length === 1) {
        const b = JSON.parse((await this.body(req)).toString('utf8') || '{}') as {
          name?: string;
          id?: string;
          public?: boolean;
        };
        const name = b.name ?? b.id;
        if (!name) return this.error(res, 400, 'InvalidRequest', 'name is required');
        if (this.buckets.has(name)) return this.error(res, 409, 'Duplicate', 'The resource already exists');
        this.buckets.set(name, { name, public: b.public === true, objects: new Map() });
        return this.json(res, 200, { name });
      }
      if (method === 'GET' && parts.length === 2) {
        const b = this.buckets.get(parts[1]!);
        if (!b) return this.error(res, 404, 'Bucket not found', 'Bucket not found');
        return this.json(res, 200, { id: b.name, name: b.name, public: b.public });
      }
      return this.error(res, 404, 'not_found', 'not found');
    }
    if (parts[0] !== 'object') return this.error(res, 404, 'not_found', 'not found');

    if (method === 'POST' && parts[1] === 'sign') {
      const [bucketName, ...rest] = parts.slice(2);
      const bucket = this.buckets.get(bucketName ?? '');
      if (!bucket) return this.error(res, 404, 'Bucket not found', 'Bucket not found');
      const path = rest.join('/');
      if (!bucket.objects.has(path)) return this.error(res, 404, 'not_found', 'Object not found');
      const { expiresIn } = JSON.parse((await this.body(req)).toString('utf8') || '{}') as {
        expiresIn?: number;
      };
      if (typeof expiresIn !== 'number' || expiresIn < 1)
        return this.error(res, 400, 'InvalidRequest', 'expiresIn is required');
      const token = this.sign(`${bucketName}/${path}`, expiresIn);
      return this.json(res, 200, { signedURL: `/object/sign/${bucketName}/${path}?token=${token}` });
    }
    if (method === 'POST' && parts[1] === 'list') {
      const bucket = this.buckets.get(parts[2] ?? '');
      if (!bucket) return this.error(res, 404, 'Bucket not found', 'Bucket not found');
      const b = JSON.parse((await this.body(req)).toString('utf8') || '{}') as {
        prefix?: string;
        limit?: number;
        offset?: number;
      };
      const prefix = (b.prefix ?? '').replace(/\/+$/, '');
      const names = new Map<string, FakeObject | undefined>();
      for (const [path, object] of bucket.objects) {
        if (prefix && !path.startsWith(`${prefix}/`)) continue;
        const rest = prefix ? path.slice(prefix.length + 1) : path;
        const [first, ...more] = rest.split('/');
        names.set(first!, more.length > 0 ? undefined : object);
      }
      const sorted = [...names.entries()].sort(([a], [b2]) => a.localeCompare(b2));
      const page = sorted.slice(b.offset ?? 0, (b.offset ?? 0) + (b.limit ?? 100));
      return this.json(
        res,
        200,
        page.map(([name, o]) =>
          o
            ? {
                name,
                id: o.id,
                updated_at: o.updatedAt,
                metadata: { size: o.body.length, mimetype: o.contentType },
              }
            : { name, id: null, metadata: null },
        ),
      );
    }
    if (method === 'DELETE' && parts.length === 2) {
      const bucket = this.buckets.get(parts[1]!);
      if (!bucket) return this.error(res, 404, 'Bucket not found', 'Bucket not found');
      const { prefixes } = JSON.parse((await this.body(req)).toString('utf8') || '{}') as {
        prefixes?: string[];
      };
      const removed = [];
      for (const p of prefixes ?? []) {
        const o = bucket.objects.get(p);
        if (o) {
          bucket.objects.delete(p);
          removed.push({ name: p, id: o.id, bucket_id: bucket.name });
        }
      }
      return this.json(res, 200, removed);
    }
    const [bucketName, ...rest] = parts.slice(1);
    const path = rest.join('/');
    const bucket = this.buckets.get(bucketName ?? '');
    if (method === 'POST' || method === 'PUT') {
      const body = await this.body(req);
      if (!bucket) return this.error(res, 404, 'Bucket not found', 'Bucket not found');
      if (!path) return this.error(res, 400, 'InvalidKey', 'Invalid key');
      const exists = bucket.objects.has(path);
      const upsert = method === 'PUT' || req.headers['x-upsert'] === 'true';
      if (exists && !upsert) return this.error(res, 409, 'Duplicate', 'The resource already exists');
      if (!exists && method === 'PUT') return this.error(res, 404, 'not_found', 'Object not found');
      const object: FakeObject = {
        body,
        contentType: String(req.headers['content-type'] ?? 'application/octet-stream'),
        cacheControl: req.headers['cache-control'],
        id: bucket.objects.get(path)?.id ?? randomUUID(),
        updatedAt: new Date().toISOString(),
      };
      bucket.objects.set(path, object);
      return this.json(res, 200, { Id: object.id, Key: `${bucketName}/${path}` });
    }
    if (method === 'GET') {
      if (!bucket) return this.error(res, 404, 'Bucket not found', 'Bucket not found');
      const object = bucket.objects.get(path);
      if (!object) return this.error(res, 404, 'not_found', 'Object not found');
      res.writeHead(200, {
        'content-type': object.contentType,
        'content-length': String(object.body.length),
      });
      res.end(object.body);
      return;
    }
    this.error(res, 404, 'not_found', 'not found');
  }
}
