/** The web chat holds no long-lived connection: pages come to us over HTTP and the SSE stream (routes.ts). */
export {};
