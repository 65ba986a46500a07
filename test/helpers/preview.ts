import { fetchLoopback } from '../../src/util/loopback-fetch.js';

/**
 * Fetches an app's preview URL as a browser would. Local previews live at
 * `http://<app>.localhost:<PREVIEW_PORT>/`: browsers send every `*.localhost` name to the
 * loopback, while Node's fetch asks the system resolver, which answers ENOTFOUND. So this
 * connects to 127.0.0.1 and sends the preview's own Host header. Every test that opens a
 * preview goes through here.
 */
export function fetchPreview(url: string, init?: RequestInit): Promise<Response> {
  return fetchLoopback(url, init);
}
