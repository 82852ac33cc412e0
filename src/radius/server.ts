/**
 * The connector's UDP server: finds the client by source address, checks and decodes the packet,
 * answers retransmissions from the duplicate cache, asks `access` for a decision and sends it.
 * Everything that is dropped is counted and logged (without secrets, passwords, codes or States).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { isIPv6 } from 'node:net';
import type { Logger } from '../lib/logger';
import { ApiConfigurationError, ApiUnavailableError, createApiClient } from './api-client';
import { createAccess } from './access';
import { createChallengeStore } from './challenge-store';
import { findClient, type RadiusConfig } from './config';
import { createDuplicateCache, type Answer } from './duplicates';
import type { RadiusMetrics } from './metrics';
import { encodeResponse, parseAccessRequest } from './packet';

/** RFC 5080 suggests remembering answers for a few seconds; NAS retries usually come within 3–5 s. */
const DUPLICATE_LIFE_MS = 10_000;
/** A flood from one unknown address logs once a minute (it is counted every time). */
const DROP_LOG_EVERY_MS = 60_000;

export interface RadiusServer {
  socket: Socket;
  /** Stops taking requests, answers those in flight, closes the socket. */
  close(): Promise<void>;
}

export async function startRadiusServer(config: RadiusConfig, log: Logger, metrics: RadiusMetrics): Promise<RadiusServer> {
  const api = createApiClient({ ...config, timeoutMs: config.apiTimeoutMs });
  const challenges = createChallengeStore(config.challengeSeconds * 1000);
  const access = createAccess(config.mode, config.otpLength, api, challenges);
  const duplicates = createDuplicateCache(DUPLICATE_LIFE_MS);
  const inFlight = new Set<Promise<unknown>>();
  const lastDropLog = new Map<string, number>();
  let stopping = false;

  const socket = createSocket({ type: isIPv6(config.host) ? 'udp6' : 'udp4' });
  const sweeper = setInterval(() => {
    challenges.sweep(Date.now());
    duplicates.sweep();
    lastDropLog.clear();
  }, 30_000).unref();

  function drop(from: RemoteInfo, result: string, client?: string) {
    metrics.requests.inc({ result });
    const key = `${from.address}/${result}`;
    const now = Date.now();
    if ((lastDropLog.get(key) ?? 0) + DROP_LOG_EVERY_MS > now) return;
    lastDropLog.set(key, now);
    log.warn({ from: from.address, port: from.port, client, result }, 'radius request dropped');
  }

  /** Resolves once the datagram left (so a shutdown does not close the socket under it). */
  function send(buf: Buffer, to: RemoteInfo): Promise<void> {
    return new Promise((resolve) => socket.send(buf, to.port, to.address, (err) => {
      if (err) log.warn({ err: err.message, to: to.address }, 'radius answer not sent');
      resolve();
    }));
  }

  async function answer(datagram: Buffer, from: RemoteInfo): Promise<void> {
    const client = findClient(config.clients, from.address);
    if (!client) return drop(from, 'unknown_client');
    const parsed = parseAccessRequest(datagram, client.secret);
    if (!parsed.ok) return drop(from, parsed.reason, client.name);
    const request = parsed.request;
    const source = `${from.address}:${from.port}`;

    const earlier = duplicates.lookup(source, request.identifier, request.authenticator);
    if (earlier) {
      metrics.requests.inc({ result: 'duplicate' });
      const buf = await earlier;
      if (buf) await send(buf, from);
      return;
    }

    const started = performance.now();
    let settle!: (a: Answer) => void;
    duplicates.start(source, request.identifier, request.authenticator, new Promise<Answer>((r) => (settle = r)));
    let response: Answer = null;
    let result: string;
    try {
      const d = await access.decide({ client: client.name, userName: request.userName, password: request.password, state: request.state });
      result = d.code === 'Access-Accept' ? 'accept' : d.code === 'Access-Challenge' ? 'challenge' : 'reject';
      response =
        d.code === 'Access-Challenge'
          ? encodeResponse(request, client.secret, d.code, { state: d.state, replyMessage: d.replyMessage })
          : encodeResponse(request, client.secret, d.code);
      log.info({ client: client.name, from: from.address, user: request.userName, result, why: d.code === 'Access-Reject' ? d.why : undefined, ms: Math.round(performance.now() - started) }, 'radius request');
    } catch (err) {
      // No verdict, so no answer: the NAS retries or fails over to another RADIUS server.
      result = 'unavailable';
      const level = err instanceof ApiUnavailableError ? 'warn' : 'error';
      log[level]({ client: client.name, user: request.userName, result, err: (err as Error).message }, 'radius request not answered');
    }
    metrics.requests.inc({ result });
    settle(response);
    if (response) await send(response, from);
  }

  socket.on('message', (datagram, from) => {
    if (stopping) return;
    const p = answer(datagram, from).catch((err) => log.error({ err: (err as Error).message }, 'radius request failed'));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });
  socket.on('error', (err) => log.error({ err: err.message }, 'radius socket error'));
  socket.bind(config.port, config.host);
  await once(socket, 'listening');

  return {
    socket,
    async close() {
      stopping = true;
      clearInterval(sweeper);
      await Promise.allSettled([...inFlight]);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      api.close();
    },
  };
}
