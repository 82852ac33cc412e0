/** A supertest client for /api/v1 that sends one tenant's API key as a Bearer header. */
import request from 'supertest';
import assert from 'node:assert/strict';
import type { Express } from 'express';

export function apiClient(app: Express, key: string) {
  const auth = { Authorization: `Bearer ${key}` };
  return {
    get: (path: string) => request(app).get(`/api/v1${path}`).set(auth),
    post: (path: string, body?: unknown) => send(request(app).post(`/api/v1${path}`).set(auth), body),
    patch: (path: string, body?: unknown) => send(request(app).patch(`/api/v1${path}`).set(auth), body),
    put: (path: string, body?: unknown) => send(request(app).put(`/api/v1${path}`).set(auth), body),
    delete: (path: string) => request(app).delete(`/api/v1${path}`).set(auth),
  };
}

function send(req: request.Test, body: unknown): request.Test {
  return body === undefined ? req : req.send(body as object);
}

/** Asserts the API's error shape, a JSON content type and no stack trace. */
export function assertApiError(res: request.Response, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(String(res.headers['content-type']), /application\/json/);
  assert.equal(res.body.error?.code, code, res.text);
  assert.equal(typeof res.body.error.message, 'string');
  assert.ok(res.body.error.message.length > 0);
  assert.doesNotMatch(res.text, /at .*\.(ts|js):\d+/);
}
