/** Name of the bridge's file in the provider's runtime folder, and inside the sandbox. */
export const BRIDGE_FILE = 'preview-bridge.cjs';
/** The variable that tells the bridge where its socket goes; removed before the app's code runs. */
export const BRIDGE_SOCKET_VAR = 'SPAWNAI_PREVIEW_SOCKET';
/** The socket's name in the session's run folder. */
export const PREVIEW_SOCKET = 'preview.sock';

/**
 * Loaded into the app's process before its own code (`node --require`). The service reaches
 * an app only through a Unix socket it can see on its side; inside the sandbox, whose network
 * is its own, the bridge pipes each connection on that socket to 127.0.0.1:PORT. The socket
 * appears once the app accepts connections, so its presence means "listening". Everything it
 * holds is unref'd: an app that ends by itself still ends. CommonJS, so no `"type"` matters.
 */
export const BRIDGE_SOURCE = `'use strict';
// Added by SpawnAI: the preview's way in (see src/provision/local/preview-bridge.ts).
(function bridge() {
  const socketPath = process.env.${BRIDGE_SOCKET_VAR};
  delete process.env.${BRIDGE_SOCKET_VAR};
  const port = Number(process.env.PORT);
  if (!socketPath || !Number.isInteger(port) || port <= 0) return;
  const net = require('node:net');
  function pipe(client) {
    const upstream = net.connect({ host: '127.0.0.1', port });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    // The service went away: nobody reads what the app still sends.
    client.on('close', () => upstream.destroy());
    // The app closed after answering: end, not destroy, so what is still buffered for the
    // service is delivered (a destroy cut answers short on a busy machine: a 502 upstream).
    upstream.on('close', () => client.end());
    client.pipe(upstream);
    upstream.pipe(client);
  }
  function open() {
    const server = net.createServer(pipe);
    server.on('error', () => undefined);
    server.listen(socketPath);
    server.unref();
  }
  function probe() {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.unref();
    socket.once('connect', () => {
      socket.destroy();
      open();
    });
    socket.once('error', () => {
      socket.destroy();
      setTimeout(probe, 20).unref();
    });
  }
  probe();
})();
`;
