/**
 * Graceful HTTP drain for shutdown. `server.close()` alone does not drain keep-alive clients: it
 * stops listening and closes the sockets idle at that instant, but a socket in use stays open and
 * keeps taking requests for as long as its client sends them, so the process never gets to exit.
 * Here, once draining: every answer carries `Connection: close` (the client then stops reusing the
 * socket and Node closes it after the answer), and sockets that stay idle are closed.
 */
import net from 'node:net';
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A socket idle this long while draining is closed. Closing a socket at the very moment its client
 * sends the next request on it makes that request fail with a reset, so a socket that was just
 * used gets this long to bring its next request (answered, with `Connection: close`).
 */
const IDLE_GRACE_MS = 1_000;
const CHECK_EVERY_MS = 100;

interface SocketState {
  /** Requests on this socket not answered yet. */
  busy: number;
  idleSince: number;
}

export interface HttpDrain {
  /**
   * Stops listening, answers in-flight and arriving requests with `Connection: close`, closes idle
   * sockets; resolves once every connection is closed. Sockets still open after `timeoutMs`
   * (an answer that never ends) are cut, so shutdown can go on. Resolves with how many were cut.
   */
  drain(timeoutMs: number): Promise<number>;
}

/** Call before the server takes connections (right after listen()): it tracks every socket and answer. */
export function trackForDrain(server: Server): HttpDrain {
  const sockets = new Map<Socket, SocketState>();
  const answering = new Set<ServerResponse>();
  let draining = false;

  server.on('connection', (socket: Socket) => {
    sockets.set(socket, { busy: 0, idleSince: Date.now() });
    socket.once('close', () => sockets.delete(socket));
  });
  // Prepended so it runs before the app, which may answer synchronously (headers sent, too late to add one).
  server.prependListener('request', (req, res) => {
    const state = sockets.get(req.socket);
    if (state) state.busy++;
    answering.add(res);
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      answering.delete(res);
      if (!state) return;
      state.busy--;
      state.idleSince = Date.now();
    });
  });

  function closeIdle(graceMs: number): void {
    const now = Date.now();
    for (const [socket, state] of sockets) {
      if (state.busy === 0 && now - state.idleSince >= graceMs) socket.destroy();
    }
  }

  return {
    async drain(timeoutMs) {
      draining = true;
      // Answers not started yet close their socket when done; started ones finish as they are
      // (already announced keep-alive) and their socket is then closed as idle.
      for (const res of answering) if (!res.headersSent) res.setHeader('Connection', 'close');
      // net.Server.close only stops listening (new connections are refused) and calls back once the
      // last connection is gone. http.Server.close would also destroy idle sockets at once, racing
      // clients that are sending their next request on them.
      const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      const timer = setInterval(() => closeIdle(IDLE_GRACE_MS), CHECK_EVERY_MS);
      let cut = 0;
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      try {
        if ((await Promise.race([closed, deadline])) === 'timeout') {
          cut = sockets.size;
          for (const socket of sockets.keys()) socket.destroy();
          await closed;
        }
      } finally {
        clearInterval(timer);
      }
      return cut;
    },
  };
}
