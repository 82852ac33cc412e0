import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createApiRouter } from '../../src/api/api.router';

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

describe('api: OpenAPI document', () => {
  let ctx: TestContext;
  let doc: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  before(async () => {
    ctx = await createTestContext();
    doc = (await request(ctx.app).get('/api/v1/openapi.json')).body;
  });
  after(() => ctx.close());

  it('lists every route of the API router, with responses', () => {
    const router = createApiRouter(ctx.services) as unknown as { stack: RouteLayer[] };
    const routes = router.stack.filter((l) => l.route).flatMap((l) => Object.keys(l.route!.methods).map((m) => ({ method: m, path: l.route!.path.replace(/:(\w+)/g, '{$1}') })));
    assert.ok(routes.length >= 17, `found ${routes.length} routes`);
    for (const { method, path } of routes) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method.toUpperCase()} ${path} is missing from the OpenAPI document`);
      assert.ok(Object.keys(op.responses).length > 0);
    }
    // And nothing documented that the router does not serve.
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m} ${path}`));
    assert.deepEqual(documented.sort(), routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('declares bearer auth, public only for the document itself', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.info.title && doc.info.version);
    assert.deepEqual(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes.bearerAuth.description });
    assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
    assert.deepEqual(doc.paths['/openapi.json'].get.security, []);
  });

  it('builds request schemas from the services\' zod schemas, strict and with limits', () => {
    const create = doc.components.schemas.ResourceCreate;
    assert.deepEqual(create.required, ['name']);
    assert.equal(create.additionalProperties, false);
    assert.deepEqual(create.properties.failedAttemptsLimit, { type: 'integer', minimum: 3, maximum: 10 });
    assert.deepEqual(create.properties.pinPosition.enum, ['before', 'after']);
    assert.equal(doc.components.schemas.ResourcePatch.required, undefined);
    assert.deepEqual(doc.components.schemas.UserCreate.required, ['login']);
    assert.equal(doc.components.schemas.UserCreate.additionalProperties, false);
    assert.equal(doc.paths['/resources'].post.requestBody.content['application/json'].schema.$ref, '#/components/schemas/ResourceCreate');
    assert.equal(doc.paths['/users/{id}'].patch.requestBody.content['application/json'].schema.$ref, '#/components/schemas/UserPatch');
  });

  it('describes responses, including the Error schema, and never a password', () => {
    const { Resource, User, Error: error } = doc.components.schemas;
    assert.deepEqual(Object.keys(Resource.properties).sort(), ['createdAt', 'description', 'failedAttemptsLimit', 'id', 'invitationDays', 'invitationReminderDays', 'lockMinutes', 'maxTokensPerUser', 'name', 'notifyNewEnvironment', 'pinPosition', 'requireSecondFactor', 'totpWindow', 'trustedEnvironmentSkipsSecondFactor', 'updatedAt']);
    assert.ok(User.properties.hasPassword);
    assert.equal(User.properties.password, undefined);
    assert.deepEqual(error.required, ['error']);
    assert.deepEqual(error.properties.error.required, ['code', 'message']);
    assert.equal(doc.paths['/resources'].post.responses['201'].content['application/json'].schema.$ref, '#/components/schemas/Resource');
    assert.equal(doc.paths['/resources/{id}'].get.responses['404'].$ref, '#/components/responses/NotFound');
    // Every $ref points at something that exists.
    for (const [, target] of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+\/\w+)"/g)) {
      const [kind, name] = target.split('/');
      assert.ok(doc.components[kind]?.[name], `dangling $ref ${target}`);
    }
  });

  it('documents token imports: the accepted bodies, the size limit, and updated/unchanged as always 0', () => {
    const post = doc.paths['/token-imports'].post;
    assert.deepEqual(Object.keys(post.requestBody.content).sort(), ['application/pskc+xml', 'application/xml', 'multipart/form-data', 'text/csv']);
    assert.deepEqual(Object.keys(post.requestBody.content['multipart/form-data'].schema.properties).sort(), ['file', 'format', 'password', 'preSharedKey']);
    assert.match(post.requestBody.description, /20 MB/);
    assert.deepEqual(post.parameters.map((p: { name: string }) => p.name), ['X-PSKC-Password', 'X-PSKC-Key']);
    assert.equal(post.responses['202'].content['application/json'].schema.$ref, '#/components/schemas/TokenImportStarted');
    assert.equal(post.responses['413'].$ref, '#/components/responses/TooLarge');
    assert.equal(post.responses['415'].$ref, '#/components/responses/UnsupportedMediaType');
    const shape = doc.components.schemas.TokenImport;
    assert.deepEqual(shape.required.sort(), ['created', 'errors', 'id', 'processed', 'status', 'total', 'unchanged', 'updated']);
    assert.deepEqual(shape.properties.status.enum, ['queued', 'running', 'done', 'failed']);
    assert.match(shape.properties.updated.description, /always 0/);
    assert.deepEqual(shape.properties.errors.items.required.sort(), ['line', 'message']);
  });
});
