/** Where app bundles (tar.gz of the files) are kept between build and deploy. */
export interface StoredBundle {
  /** Store-specific key, e.g. `<session>/<build>.tar.gz`. */
  readonly key: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface BundleStore {
  readonly name: 'local' | 'supabase';
  put(sessionId: string, buildId: string, tarball: Buffer): Promise<StoredBundle>;
  get(key: string): Promise<Buffer>;
  /** A URL a provider can download the bundle from, valid for `ttlSeconds`. */
  signedUrl(key: string, ttlSeconds: number): Promise<string>;
  delete(key: string): Promise<void>;
  /** Deletes every bundle of a session (on destroy). */
  deleteSession(sessionId: string): Promise<void>;
}
