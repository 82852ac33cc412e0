/**
 * The OpenAPI 3.1 document served at /api/v1/openapi.json. Request schemas come from the same zod
 * schemas the services validate with (input side, so defaults and transforms do not leak in);
 * response schemas come from the serializers. A test checks every route of the router is listed.
 */
import { z } from 'zod';
import { resourceCreateSchema, resourcePatchSchema } from '../resources/resource.types';
import { userCreateSchema, userPatchSchema } from '../users/user.types';
import { assignmentJson, errorJson, resourceJson, userJson } from './serializers';
import { pinSchema, tokenCreateSchema, tokenPatchSchema, tokenResyncSchema, tokenVerifySchema, TOKEN_TYPES } from '../tokens/token.types';
import { authenticateSchema, MAX_BATCH_CHECKS } from '../validation/authenticate.service';
import { challengeRequestSchema } from '../validation/challenge.service';
import { selfServiceSchema } from '../selfservice/self-service.types';
import { selfServiceJson } from './self-service-serializers';
import { authenticateResultJson, checkResultJson, tokenCreatedJson, tokenJson, tokenResourcesJson } from './token-serializers';
import { tokenImportJson, tokenImportStartedJson } from './token-import-serializers';
import { IMPORT_MAX_BYTES } from '../tokens/import/import.types';
import { KEY_HEADER, PASSWORD_HEADER } from './token-import-body';
import { MAX_USER_IDS, SKIP_REASONS } from '../invitations/invitation.types';
import { ACTOR_TYPES } from '../audit/audit-words';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../audit/audit-filter';
import { WEBHOOKS_TAG, webhookPaths, webhookSchemas } from './openapi-webhooks';

type Json = Record<string, unknown>;

/** JSON Schema 2020-12 (what OpenAPI 3.1 embeds), without the top-level `$schema` marker. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ content: { 'application/json': { schema } } });
const pageOf = (item: string): Json => ({
  type: 'object',
  required: ['items', 'page', 'perPage', 'total'],
  properties: { items: { type: 'array', items: ref(item) }, page: { type: 'integer', minimum: 1 }, perPage: { type: 'integer', minimum: 1, maximum: 100 }, total: { type: 'integer', minimum: 0 } },
});

const idParam = (name: string, what: string) => ({ name, in: 'path', required: true, description: `The ${what}'s id (another tenant's id answers 404).`, schema: { type: 'string', format: 'uuid' } });
const listParams = [
  { name: 'q', in: 'query', required: false, description: 'Case-insensitive search text.', schema: { type: 'string' } },
  { name: 'page', in: 'query', required: false, schema: { type: 'integer', minimum: 1, default: 1 } },
  { name: 'perPage', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 25 } },
];
const pageParams = listParams.slice(1);
const enrollmentStatusParam = {
  name: 'status', in: 'query', required: false,
  description: '`enrolled`: an active token in the resource; `invited`: a valid invitation, not enrolled; `invitation_expired`: an expired invitation, not enrolled; `not_invited`: not enrolled, never invited or cancelled.',
  schema: { type: 'string', enum: ['enrolled', 'invited', 'not_invited', 'invitation_expired'] },
};
const countOf = { type: 'integer', minimum: 0 };

const errors = {
  400: { $ref: '#/components/responses/BadRequest' },
  401: { $ref: '#/components/responses/Unauthorized' },
  404: { $ref: '#/components/responses/NotFound' },
  409: { $ref: '#/components/responses/Conflict' },
  422: { $ref: '#/components/responses/ValidationFailed' },
  429: { $ref: '#/components/responses/RateLimited' },
};
const readErrors = { 401: errors[401], 404: errors[404] };
const writeErrors = { 400: errors[400], 401: errors[401], 404: errors[404], 409: errors[409], 422: errors[422] };

interface OperationSpec {
  summary: string;
  tag: 'Resources' | 'Users' | 'Assignments' | 'Invitations' | 'Tokens' | 'Token imports' | 'Validation' | 'Audit';
  params?: Json[];
  body?: string;
  ok: [status: number, description: string, schema?: Json];
  errors: Json;
}

function operation(id: string, spec: OperationSpec): Json {
  const [status, description, schema] = spec.ok;
  return {
    operationId: id,
    summary: spec.summary,
    tags: [spec.tag],
    ...(spec.params ? { parameters: spec.params } : {}),
    ...(spec.body ? { requestBody: { required: true, ...json(ref(spec.body)) } } : {}),
    // Any operation may meet a database outage: 503 with Retry-After, never a 500.
    responses: { [status]: { description, ...(schema ? json(schema) : {}) }, ...spec.errors, 503: { $ref: '#/components/responses/Unavailable' } },
  };
}

const resourceId = idParam('id', 'resource');
const userId = idParam('id', 'user');
const tokenId = idParam('id', 'token');
const importLimit = `${IMPORT_MAX_BYTES / 1024 / 1024} MB (${IMPORT_MAX_BYTES} bytes)`;
const csvFile = { type: 'string', description: 'One token a line: serial,secret,type,digits,period|counter[,algorithm] (a first line starting with "serial" is a header)' };
const pskcFile = { type: 'string', description: 'A PSKC (RFC 6030) KeyContainer: plain, protected by a password (PBKDF2) or encrypted with a pre-shared AES key' };
/** The import's file, as a raw body of its own type or a multipart form (the same fields as the console's form). */
const tokenImportBody = {
  required: true,
  description: `The file, at most ${importLimit}. A raw PSKC body takes its password in the \`${PASSWORD_HEADER}\` header (its UTF-8 bytes) or its pre-shared key, in hex, in \`${KEY_HEADER}\`; only the one the file declares is read.`,
  content: {
    'text/csv': { schema: csvFile },
    'application/pskc+xml': { schema: pskcFile },
    'application/xml': { schema: pskcFile },
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['file'],
        properties: {
          file: { type: 'string', format: 'binary', description: 'The CSV or PSKC file' },
          format: { type: 'string', enum: ['auto', 'csv', 'pskc'], default: 'auto', description: 'auto: by the file name\'s extension, then by the content (XML starts with <)' },
          password: { type: 'string', description: 'For a password-protected PSKC file' },
          preSharedKey: { type: 'string', description: 'For a PSKC file encrypted with a pre-shared key: the key in hex (32, 48 or 64 digits)' },
        },
      },
    },
  },
};
const credentialHeaders = [
  { name: PASSWORD_HEADER, in: 'header', required: false, description: 'The password of a password-protected PSKC body', schema: { type: 'string' } },
  { name: KEY_HEADER, in: 'header', required: false, description: 'The pre-shared AES key of a PSKC body, in hex', schema: { type: 'string' } },
];

const tokenListParams = [
  ...listParams,
  { name: 'type', in: 'query', required: false, schema: { type: 'string', enum: [...TOKEN_TYPES] } },
  { name: 'status', in: 'query', required: false, description: '`stock`: hardware tokens without an owner.', schema: { type: 'string', enum: ['enabled', 'disabled', 'stock'] } },
  { name: 'userId', in: 'query', required: false, description: "The owner's id.", schema: { type: 'string', format: 'uuid' } },
];

const auditFilterParams = [
  { name: 'from', in: 'query', required: false, description: 'Events at or after this instant: ISO 8601 date and time with a zone, or a date (midnight UTC).', schema: { type: 'string' } },
  { name: 'to', in: 'query', required: false, description: 'Events up to this instant, included; a date includes its whole day (UTC).', schema: { type: 'string' } },
  { name: 'actorType', in: 'query', required: false, schema: { type: 'string', enum: [...ACTOR_TYPES] } },
  { name: 'actor', in: 'query', required: false, description: 'The actor\'s id, or exact name (any case): admin email or name, API key name, user login, system label.', schema: { type: 'string', maxLength: 200 } },
  { name: 'action', in: 'query', required: false, description: 'An action id, e.g. `user.block`, `authenticate`.', schema: { type: 'string', pattern: '^[a-z][a-z0-9_.]{0,99}$' } },
  { name: 'resource', in: 'query', required: false, description: 'A resource id.', schema: { type: 'string', format: 'uuid' } },
  { name: 'user', in: 'query', required: false, description: 'The user the event is about: login (any case) or id.', schema: { type: 'string', maxLength: 200 } },
  { name: 'result', in: 'query', required: false, schema: { type: 'string', enum: ['success', 'failure'] } },
  { name: 'q', in: 'query', required: false, description: 'Exact name, any case, of a user (login or email), admin (email or name), API key, resource or token serial, or an id: events where it is the actor, the target or the resource.', schema: { type: 'string', maxLength: 200 } },
];
/** An operation whose success answer is a CSV download. */
function csvResponse(op: Json): Json {
  const responses = op.responses as Json;
  return { ...op, responses: { ...responses, 200: { description: (responses[200] as Json).description, content: { 'text/csv': { schema: { type: 'string' } } } } } };
}
const auditPageParams = [
  { name: 'before', in: 'query', required: false, description: 'Events older than this event id (a `nextCursor`).', schema: { type: 'string', pattern: '^[1-9][0-9]*$' } },
  { name: 'after', in: 'query', required: false, description: 'Events newer than this event id (a `prevCursor`).', schema: { type: 'string', pattern: '^[1-9][0-9]*$' } },
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT } },
];

/** The user CSV: columns, rules and limits, said once for both content types. */
const USER_CSV_DESCRIPTION =
  'UTF-8 CSV (RFC 4180, with or without a BOM, at most 20 MB) with a header row naming its columns in any order: `login` (required), `email`, `phone` (E.164), `firstName`, `lastName`, `resources` (`;`-separated resource names or ids of your tenant; the user is assigned to each). Unknown columns refuse the file (422, naming them). Each row is judged as `POST /users` judges a body; a bad row is skipped and reported with its line number (the header is line 1).';
const userImportBody = {
  required: true,
  description: USER_CSV_DESCRIPTION,
  content: {
    'text/csv': { schema: { type: 'string' } },
    'multipart/form-data': {
      schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', contentMediaType: 'text/csv', description: 'The CSV file' }, updateExisting: { type: 'string', enum: ['true', 'false'] } } },
    },
  },
};
const updateExistingParam = { name: 'updateExisting', in: 'query', required: false, description: 'With `true`, users that exist (login matched case-insensitively) get the fields the file gives (blank cells change nothing) and its resources; otherwise they are left as they are.', schema: { type: 'boolean', default: false } };
const userImportErrors = { ...writeErrors, 413: { $ref: '#/components/responses/TooLarge' }, 415: { $ref: '#/components/responses/UnsupportedMediaType' } };

export function buildOpenApiDocument(baseUrl: string): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'MFA service management API',
      version: '1.0.0',
      description: 'Manage resources, users and their assignment in your tenant. Authenticate with an API key created by a tenant owner: `Authorization: Bearer <key>`. Errors are `{"error": {"code", "message", "fields?"}}`.',
    },
    servers: [{ url: `${baseUrl}/api/v1` }],
    security: [{ bearerAuth: [] }],
    tags: [{ name: 'Resources' }, { name: 'Users' }, { name: 'Assignments' }, { name: 'Invitations', description: 'Invitations to enrol a second factor in a resource, emailed with its portal link; reminders and expiry follow the resource\'s settings.' }, { name: 'Tokens' }, { name: 'Token imports', description: 'Hardware tokens in bulk from CSV or PSKC files, as in the console.' }, { name: 'Validation', description: 'Checking a user\'s one-time password: the call your protected application makes.' }, { name: 'Audit', description: 'The audit log: every change and every sign-in, newest first.' }, WEBHOOKS_TAG],
    paths: {
      '/openapi.json': {
        get: { operationId: 'getOpenApi', summary: 'This document', security: [], responses: { 200: { description: 'The OpenAPI document', ...json({ type: 'object' }) } } },
      },
      '/resources': {
        get: operation('listResources', { summary: 'List resources', tag: 'Resources', params: listParams, ok: [200, 'A page of resources', ref('ResourcePage')], errors: { 401: errors[401] } }),
        post: operation('createResource', { summary: 'Create a resource (unset settings take their defaults)', tag: 'Resources', body: 'ResourceCreate', ok: [201, 'The created resource', ref('Resource')], errors: writeErrors }),
      },
      '/resources/{id}': {
        get: operation('getResource', { summary: 'Get a resource', tag: 'Resources', params: [resourceId], ok: [200, 'The resource', ref('Resource')], errors: readErrors }),
        patch: operation('updateResource', { summary: 'Change some settings of a resource', tag: 'Resources', params: [resourceId], body: 'ResourcePatch', ok: [200, 'The updated resource', ref('Resource')], errors: writeErrors }),
        delete: operation('deleteResource', { summary: 'Delete a resource', tag: 'Resources', params: [resourceId], ok: [204, 'Deleted'], errors: readErrors }),
      },
      '/resources/{id}/self-service': {
        get: operation('getSelfService', { summary: 'Get the resource\'s Self-Service Portal configuration and addresses', tag: 'Resources', params: [resourceId], ok: [200, 'The configuration', ref('SelfService')], errors: readErrors }),
        put: operation('putSelfService', { summary: 'Replace the Self-Service Portal configuration: an address activates the portal, "" or null deactivates it; unlisted actions and token types are disabled', tag: 'Resources', params: [resourceId], body: 'SelfServiceUpdate', ok: [200, 'The saved configuration, with the portal\'s addresses', ref('SelfService')], errors: writeErrors }),
      },
      '/resources/{id}/users': {
        get: operation('listResourceUsers', { summary: 'List the users assigned to a resource, optionally those in one enrolment state', tag: 'Assignments', params: [resourceId, ...pageParams, enrollmentStatusParam], ok: [200, 'A page of users', ref('UserPage')], errors: { ...readErrors, 422: errors[422] } }),
      },
      '/resources/{id}/enrollment': {
        get: operation('getResourceEnrollment', { summary: 'Enrolment progress: users assigned, enrolled (an active token in the resource), invited (a valid invitation, not enrolled) and not invited (the other not enrolled, expired invitations included)', tag: 'Assignments', params: [resourceId], ok: [200, 'The counts', ref('EnrollmentCounts')], errors: readErrors }),
      },
      '/resources/{id}/users/{userId}': {
        put: operation('assignUser', { summary: 'Assign a user to a resource (idempotent)', tag: 'Assignments', params: [resourceId, idParam('userId', 'user')], ok: [204, 'Assigned'], errors: readErrors }),
        delete: operation('unassignUser', { summary: 'Unassign a user from a resource', tag: 'Assignments', params: [resourceId, idParam('userId', 'user')], ok: [204, 'Unassigned'], errors: readErrors }),
      },
      '/resources/{id}/invitations': {
        get: operation('listInvitations', { summary: 'List the resource\'s enrolment invitations with their status (invited, expired, cancelled, enrolled), last sent first', tag: 'Invitations', params: [resourceId, ...pageParams], ok: [200, 'A page of invitations', pageOf('Invitation')], errors: readErrors }),
        post: operation('inviteUsers', { summary: 'Invite users to enrol: `{"userIds": [...]}` (at most 2000) or `{"filter": "not_enrolled"}` (every assigned user not enrolled). Each invited user gets one email with the portal link, sent in the background. Skipped, with the reason: not_assigned (also unknown or another tenant\'s ids), enrolled, blocked, no_email, invited_recently (an invitation sent less than 24 h ago: a retried call sends nothing). 422 when the resource has no portal address', tag: 'Invitations', params: [resourceId], body: 'InvitationRequest', ok: [202, 'Accepted: how many were invited, and who was skipped', ref('InvitationResult')], errors: writeErrors }),
      },
      '/resources/{id}/invitations/{userId}': {
        delete: operation('cancelInvitation', { summary: 'Cancel the user\'s invitation: no more reminders (idempotent)', tag: 'Invitations', params: [resourceId, idParam('userId', 'user')], ok: [204, 'Cancelled'], errors: readErrors }),
      },
      '/resources/{id}/invitations/{userId}/resend': {
        post: operation('resendInvitation', { summary: 'Send the user\'s invitation again now, with a fresh expiry and reminder schedule (also re-opens a cancelled or expired one). 409 when the user is enrolled, blocked or has no email', tag: 'Invitations', params: [resourceId, idParam('userId', 'user')], ok: [202, 'Sent', { type: 'object', required: ['status'], properties: { status: { const: 'sent' } } }], errors: writeErrors }),
      },
      '/resources/{id}/users/{userId}/unlock': {
        post: operation('unlockUser', { summary: 'Clear a user\'s failure count and lock in a resource', tag: 'Validation', params: [resourceId, idParam('userId', 'user')], ok: [204, 'Unlocked'], errors: readErrors }),
      },
      '/resources/{id}/tokens/{tokenId}': {
        put: operation('assignToken', { summary: 'Assign a token to a resource (idempotent; its owner must be assigned there, and the resource\'s max tokens per user holds)', tag: 'Assignments', params: [resourceId, idParam('tokenId', 'token')], ok: [204, 'Assigned'], errors: { ...readErrors, 409: errors[409], 422: errors[422] } }),
        delete: operation('unassignToken', { summary: 'Unassign a token from a resource', tag: 'Assignments', params: [resourceId, idParam('tokenId', 'token')], ok: [204, 'Unassigned'], errors: readErrors }),
      },
      '/resources/{id}/challenge': {
        post: operation('requestChallenge', { summary: 'Send a 6-digit code (valid 5 minutes, single use, this resource only) to each email/SMS token the user has in the resource; then call authenticate with it. The answer is the same whether a code was sent or not (unknown, locked or throttled user, no such token), so it reveals nothing about the user', tag: 'Validation', params: [resourceId], body: 'ChallengeRequest', ok: [200, 'Processed (always this body)', ref('ChallengeAnswer')], errors: { 400: errors[400], 401: errors[401], 404: errors[404], 422: errors[422] } }),
      },
      '/resources/{id}/authenticate': {
        post: operation('authenticate', { summary: 'Check a user\'s OTP (PIN included, before or after the code per resource) and, when sent, password. Every processed check answers 200; a refusal is always exactly {"result":false}. Two-step sign-in (RADIUS challenge mode): send the password alone with challenge: true; a right password of a user with a token in the resource answers {"result":false,"challenge":{"types":[...]}}, then send the otp alone', tag: 'Validation', params: [resourceId], body: 'Authenticate', ok: [200, 'The decision', ref('AuthenticateResult')], errors: { 400: errors[400], 401: errors[401], 404: errors[404], 422: errors[422] } }),
      },
      '/resources/{id}/authenticate/batch': {
        post: operation('authenticateBatch', { summary: `Up to ${MAX_BATCH_CHECKS} authenticate bodies in one request (the RADIUS connector sends the checks that arrived together this way). Each is checked exactly as by authenticate, with the same rules, audit and lock; results come in the same order. A body that authenticate would refuse with 422 gets {"result":false,"error":"..."} alone, the others still count; an unknown resource refuses the whole batch`, tag: 'Validation', params: [resourceId], body: 'AuthenticateBatch', ok: [200, 'One decision per check, in order', ref('AuthenticateBatchResult')], errors: { 400: errors[400], 401: errors[401], 404: errors[404], 422: errors[422] } }),
      },
      '/tokens': {
        get: operation('listTokens', { summary: 'List and search tokens (serial, name, owner login), newest first; `total` is exact', tag: 'Tokens', params: tokenListParams, ok: [200, 'A page of tokens', ref('TokenPage')], errors: { 401: errors[401], 422: errors[422] } }),
        post: operation('createToken', { summary: 'Create a token: generated seed (totp, hotp), imported seed (`secret`; hardware, totp, hotp), email, sms or backup_codes', tag: 'Tokens', body: 'TokenCreate', ok: [201, 'The created token; `otpauthUri` or `backupCodes` appear here only, once', ref('TokenCreated')], errors: writeErrors }),
      },
      '/tokens/{id}': {
        get: operation('getToken', { summary: 'Get a token (never its seed)', tag: 'Tokens', params: [tokenId], ok: [200, 'The token', ref('Token')], errors: readErrors }),
        patch: operation('updateToken', { summary: 'Rename, enable/disable or change the owner (a new owner unassigns it from all resources)', tag: 'Tokens', params: [tokenId], body: 'TokenPatch', ok: [200, 'The updated token', ref('Token')], errors: writeErrors }),
        delete: operation('deleteToken', { summary: 'Delete a token', tag: 'Tokens', params: [tokenId], ok: [204, 'Deleted'], errors: readErrors }),
      },
      '/tokens/{id}/pin': {
        put: operation('setTokenPin', { summary: 'Set or change the token\'s PIN (typed with the code, before or after it per resource)', tag: 'Tokens', params: [tokenId], body: 'TokenPin', ok: [200, 'The token', ref('Token')], errors: writeErrors }),
        delete: operation('clearTokenPin', { summary: 'Remove the token\'s PIN', tag: 'Tokens', params: [tokenId], ok: [200, 'The token', ref('Token')], errors: readErrors }),
      },
      '/tokens/{id}/resync': {
        post: operation('resyncToken', { summary: 'Re-align an HOTP counter (search 1000 ahead) or a TOTP drift (±1 day) from two consecutive codes', tag: 'Tokens', params: [tokenId], body: 'TokenResync', ok: [200, 'The synchronised token', ref('Token')], errors: { ...writeErrors, 429: errors[429] } }),
      },
      '/tokens/{id}/reset-drift': {
        post: operation('resetTokenDrift', { summary: 'Reset the learned TOTP drift to 0', tag: 'Tokens', params: [tokenId], ok: [200, 'The token', ref('Token')], errors: readErrors }),
      },
      '/tokens/{id}/verify': {
        post: operation('verifyToken', { summary: 'Is this code valid for this token now? (no PIN, no user lock; a valid code is consumed)', tag: 'Tokens', params: [tokenId], body: 'TokenVerify', ok: [200, 'The check', ref('CheckResult')], errors: writeErrors }),
      },
      '/tokens/{id}/resources': {
        get: operation('listTokenResources', { summary: 'List the resources a token is assigned to', tag: 'Assignments', params: [tokenId], ok: [200, 'The resources', ref('TokenResources')], errors: readErrors }),
      },
      '/token-imports': {
        post: {
          ...operation('importTokens', {
            summary: `Import hardware tokens from a CSV or PSKC file. The whole file is checked first: any bad line, a wrong password or key, or a serial already in use refuses it with 422 naming the line, and nothing is imported. A good file answers 202 and its tokens are created in the background; poll the Location.`,
            tag: 'Token imports',
            params: credentialHeaders,
            ok: [202, 'Accepted and queued (Location: the import)', ref('TokenImportStarted')],
            errors: { 400: errors[400], 401: errors[401], 413: { $ref: '#/components/responses/TooLarge' }, 415: { $ref: '#/components/responses/UnsupportedMediaType' }, 422: errors[422] },
          }),
          requestBody: tokenImportBody,
        },
      },
      '/token-imports/{id}': {
        get: operation('getTokenImport', { summary: 'Progress and result of a token import (the same shape as a user import; updated and unchanged are always 0)', tag: 'Token imports', params: [idParam('id', 'token import')], ok: [200, 'The import', ref('TokenImport')], errors: readErrors }),
      },
      '/audit-events': {
        get: operation('listAuditEvents', { summary: 'List audit events, newest first, filtered; keyset-paged with `before` = the previous page\'s `nextCursor`', tag: 'Audit', params: [...auditFilterParams, ...auditPageParams], ok: [200, 'A page of events', ref('AuditEventPage')], errors: { 400: errors[400], 401: errors[401], 422: errors[422] } }),
      },
      '/audit-events.csv': {
        get: csvResponse(operation('exportAuditEvents', { summary: 'Every audit event of the filters as CSV (streamed, no paging; cells starting with = + - @ get a leading quote)', tag: 'Audit', params: auditFilterParams, ok: [200, 'CSV with a header row'], errors: { 400: errors[400], 401: errors[401], 422: errors[422] } })),
      },
      '/users': {
        get: operation('listUsers', { summary: 'List and search users (login, email, names)', tag: 'Users', params: listParams, ok: [200, 'A page of users', ref('UserPage')], errors: { 401: errors[401] } }),
        post: operation('createUser', { summary: 'Create a user', tag: 'Users', body: 'UserCreate', ok: [201, 'The created user (never the password)', ref('User')], errors: writeErrors }),
      },
      '/users/{id}': {
        get: operation('getUser', { summary: 'Get a user', tag: 'Users', params: [userId], ok: [200, 'The user', ref('User')], errors: readErrors }),
        patch: operation('updateUser', { summary: 'Change some fields of a user (`password: null` removes the password)', tag: 'Users', params: [userId], body: 'UserPatch', ok: [200, 'The updated user', ref('User')], errors: writeErrors }),
        delete: operation('deleteUser', { summary: 'Delete a user', tag: 'Users', params: [userId], ok: [204, 'Deleted'], errors: readErrors }),
      },
      '/users/{id}/block': {
        post: operation('blockUser', { summary: 'Block a user', tag: 'Users', params: [userId], ok: [200, 'The blocked user', ref('User')], errors: readErrors }),
      },
      '/users/{id}/unblock': {
        post: operation('unblockUser', { summary: 'Unblock a user', tag: 'Users', params: [userId], ok: [200, 'The unblocked user', ref('User')], errors: readErrors }),
      },
      '/user-imports': {
        post: {
          ...operation('startUserImport', { summary: 'Import users from a CSV file: runs as a background job, whose status and report `GET /user-imports/{id}` gives. Idempotent: a login that exists is matched case-insensitively, so the same file twice creates nothing the second time', tag: 'Users', params: [updateExistingParam], ok: [202, 'Accepted and queued', ref('UserImportStarted')], errors: userImportErrors }),
          requestBody: userImportBody,
        },
      },
      '/user-imports/{id}': {
        get: operation('getUserImport', { summary: 'Status, counts and report of a user import (`errors`: the skipped rows, in line order)', tag: 'Users', params: [idParam('id', 'import')], ok: [200, 'The import', ref('UserImport')], errors: readErrors }),
      },
      '/users/{id}/resources': {
        get: operation('listUserResources', { summary: 'List the resources a user is assigned to, with lock state', tag: 'Assignments', params: [userId], ok: [200, 'The assignments', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Assignment') } } }], errors: readErrors }),
      },
      ...webhookPaths,
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key of your tenant, sent only in this header.' } },
      schemas: {
        ResourceCreate: schemaOf(resourceCreateSchema, 'input'),
        ResourcePatch: schemaOf(resourcePatchSchema, 'input'),
        Resource: schemaOf(resourceJson, 'output'),
        SelfServiceUpdate: schemaOf(selfServiceSchema, 'input'),
        SelfService: schemaOf(selfServiceJson, 'output'),
        ResourcePage: pageOf('Resource'),
        UserCreate: schemaOf(userCreateSchema, 'input'),
        UserPatch: schemaOf(userPatchSchema, 'input'),
        User: schemaOf(userJson, 'output'),
        UserPage: pageOf('User'),
        EnrollmentCounts: { type: 'object', additionalProperties: false, required: ['assigned', 'enrolled', 'invited', 'notInvited'], properties: { assigned: countOf, enrolled: countOf, invited: countOf, notInvited: countOf } },
        Assignment: schemaOf(assignmentJson, 'output'),
        Error: schemaOf(errorJson, 'output'),
        TokenCreate: schemaOf(tokenCreateSchema, 'input'),
        TokenPatch: schemaOf(tokenPatchSchema, 'input'),
        TokenPin: schemaOf(pinSchema, 'input'),
        TokenResync: schemaOf(tokenResyncSchema, 'input'),
        TokenVerify: schemaOf(tokenVerifySchema, 'input'),
        Token: schemaOf(tokenJson, 'output'),
        TokenCreated: schemaOf(tokenCreatedJson, 'output'),
        TokenPage: pageOf('Token'),
        TokenResources: schemaOf(tokenResourcesJson, 'output'),
        CheckResult: schemaOf(checkResultJson, 'output'),
        Authenticate: schemaOf(authenticateSchema, 'input'),
        ChallengeRequest: schemaOf(challengeRequestSchema, 'input'),
        ChallengeAnswer: { type: 'object', required: ['status'], properties: { status: { const: 'sent' } }, additionalProperties: false },
        AuthenticateResult: schemaOf(authenticateResultJson, 'output'),
        AuthenticateBatch: { type: 'object', required: ['checks'], additionalProperties: false, properties: { checks: { type: 'array', minItems: 1, maxItems: MAX_BATCH_CHECKS, items: ref('Authenticate') } } },
        AuthenticateBatchResult: {
          type: 'object',
          required: ['results'],
          properties: {
            results: {
              type: 'array',
              items: { oneOf: [ref('AuthenticateResult'), { type: 'object', required: ['result', 'error'], properties: { result: { const: false }, error: { type: 'string', description: 'why this body was refused' } } }] },
            },
          },
        },
        TokenImportStarted: schemaOf(tokenImportStartedJson, 'output'),
        TokenImport: schemaOf(tokenImportJson, 'output'),
        InvitationRequest: {
          oneOf: [
            { type: 'object', required: ['userIds'], additionalProperties: false, properties: { userIds: { type: 'array', minItems: 1, maxItems: MAX_USER_IDS, items: { type: 'string', format: 'uuid' } } } },
            { type: 'object', required: ['filter'], additionalProperties: false, properties: { filter: { const: 'not_enrolled' } } },
          ],
        },
        InvitationResult: {
          type: 'object',
          required: ['invited', 'skipped'],
          properties: {
            invited: { type: 'integer', minimum: 0, description: 'Users invited now (one email each)' },
            skipped: { type: 'array', items: { type: 'object', required: ['userId', 'reason'], properties: { userId: { type: 'string' }, reason: { type: 'string', enum: [...SKIP_REASONS] } } } },
          },
        },
        Invitation: {
          type: 'object',
          required: ['userId', 'login', 'email', 'status', 'createdAt', 'lastSentAt', 'expiresAt', 'remindersSent', 'nextReminderAt', 'cancelledAt'],
          properties: {
            userId: { type: 'string', format: 'uuid' },
            login: { type: 'string' },
            email: { type: ['string', 'null'] },
            status: { type: 'string', enum: ['invited', 'expired', 'cancelled', 'enrolled'] },
            createdAt: { type: 'string', format: 'date-time' },
            lastSentAt: { type: 'string', format: 'date-time', description: 'The last invitation or resend (reminders not included)' },
            expiresAt: { type: 'string', format: 'date-time' },
            remindersSent: { type: 'integer' },
            nextReminderAt: { type: ['string', 'null'], format: 'date-time' },
            cancelledAt: { type: ['string', 'null'], format: 'date-time' },
          },
        },
        AuditEvent: {
          type: 'object',
          required: ['id', 'createdAt', 'actor', 'action', 'actionText', 'target', 'resource', 'result', 'ip', 'userAgent', 'details'],
          properties: {
            id: { type: 'string', description: 'Event id (a cursor for `before` / `after`)' },
            createdAt: { type: 'string', format: 'date-time' },
            actor: { type: 'object', required: ['type', 'id', 'name'], properties: { type: { type: 'string', enum: [...ACTOR_TYPES] }, id: { type: ['string', 'null'] }, name: { type: ['string', 'null'], description: 'Admin email, API key name, user login or system label' } } },
            action: { type: 'string', description: 'Action id, e.g. `user.block`' },
            actionText: { type: 'string', description: 'The action in words, e.g. "Blocked user"' },
            target: { type: ['object', 'null'], required: ['type', 'id', 'name'], properties: { type: { type: 'string' }, id: { type: ['string', 'null'] }, name: { type: ['string', 'null'] } } },
            resource: { type: ['object', 'null'], required: ['id', 'name'], properties: { id: { type: 'string', format: 'uuid' }, name: { type: ['string', 'null'] } } },
            result: { type: 'string', enum: ['success', 'failure'] },
            ip: { type: ['string', 'null'] },
            userAgent: { type: ['string', 'null'] },
            details: { type: 'object' },
          },
        },
        AuditEventPage: {
          type: 'object',
          required: ['items', 'nextCursor', 'prevCursor'],
          properties: {
            items: { type: 'array', items: ref('AuditEvent') },
            nextCursor: { type: ['string', 'null'], description: 'Pass as `before` for the next (older) page; null on the last page' },
            prevCursor: { type: ['string', 'null'], description: 'Pass as `after` for the previous (newer) page; null on the first page' },
          },
        },
        ...webhookSchemas,
        UserImportStarted: { type: 'object', required: ['id', 'status'], properties: { id: { type: 'string', format: 'uuid' }, status: { const: 'queued' } } },
        UserImport: {
          type: 'object',
          required: ['id', 'status', 'filename', 'updateExisting', 'total', 'processed', 'created', 'updated', 'unchanged', 'errors', 'createdAt', 'finishedAt'],
          properties: {
            id: { type: 'string', format: 'uuid' },
            status: { type: 'string', enum: ['queued', 'running', 'done', 'failed'] },
            filename: { type: 'string' },
            updateExisting: { type: 'boolean' },
            total: { type: 'integer', description: 'Data rows in the file (blank lines left out)' },
            processed: { type: 'integer', description: 'Rows handled so far' },
            created: { type: 'integer' },
            updated: { type: 'integer', description: 'Existing users given new field values or resources (with updateExisting)' },
            unchanged: { type: 'integer', description: 'Existing users left as they were' },
            errors: { type: 'array', items: { type: 'object', required: ['line', 'message'], properties: { line: { type: 'integer', minimum: 2 }, message: { type: 'string' } } } },
            error: { type: 'string', description: 'Why a failed import stopped' },
            createdAt: { type: 'string', format: 'date-time' },
            finishedAt: { type: ['string', 'null'], format: 'date-time' },
          },
        },
      },
      responses: {
        BadRequest: { description: 'The body is not valid JSON or not a JSON object, or a field or query parameter holds a NUL byte, a lone UTF-16 surrogate, a control character other than tab and line breaks, or more than 20 000 characters; the message names the field (code `invalid_json` or `bad_request`)', ...json(ref('Error')) },
        Unauthorized: { description: 'Missing, malformed or revoked API key (code `unauthorized`)', headers: { 'WWW-Authenticate': { schema: { type: 'string' } } }, ...json(ref('Error')) },
        NotFound: { description: 'No such object in your tenant (code `not_found`)', ...json(ref('Error')) },
        Conflict: { description: 'The name, login or self-service address is already taken (code `conflict`, with `fields`)', ...json(ref('Error')) },
        ValidationFailed: { description: 'Some fields are invalid (code `validation_failed`, one message per field in `fields`)', ...json(ref('Error')) },
        Unavailable: { description: 'The database is unreachable for now; retry after the given seconds (code `unavailable`)', headers: { 'Retry-After': { schema: { type: 'integer' } } }, ...json(ref('Error')) },
        TooLarge: { description: `The file is over the limit of ${importLimit}; the message names it (code \`too_large\`)`, ...json(ref('Error')) },
        UnsupportedMediaType: { description: 'The body\'s content type is not one the operation reads; the message lists them (code `unsupported_media_type`)', ...json(ref('Error')) },
        Forbidden: { description: 'Your role may not do this (code `forbidden`)', ...json(ref('Error')) },
        RateLimited: { description: 'Too many attempts for this object; wait and retry (code `rate_limited`)', ...json(ref('Error')) },
      },
    },
  };
}
