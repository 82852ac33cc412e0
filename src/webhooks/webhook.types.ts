/** Input schemas of webhook endpoints. The URL rule depends on configuration, so it is checked by the service. */
import { z } from 'zod';
import { isEventType } from './event-types';

const events = z
  .array(z.string({ error: 'Each event type is a string.' }), { error: 'List the event types, or ["*"] for all.' })
  .min(1, 'Choose at least one event type, or "*" for all.')
  .max(200, 'List at most 200 event types.')
  .superRefine((list, ctx) => {
    const unknown = list.filter((t) => t !== '*' && !isEventType(t));
    if (unknown.length) ctx.addIssue({ code: 'custom', message: `Unknown event type ${unknown.map((t) => `"${t}"`).join(', ')}; the list is in the OpenAPI document.` });
    if (list.includes('*') && list.length > 1) ctx.addIssue({ code: 'custom', message: '"*" already means every event; send it alone.' });
  })
  .transform((list) => [...new Set(list)].sort());

const url = z.string({ error: 'Enter the URL that receives the events.' }).trim().min(1, 'Enter the URL that receives the events.').max(2000, 'Use at most 2000 characters.');
const description = z.string().trim().max(200, 'Use at most 200 characters.').nullish().transform((v) => (v ? v : null));

export const createEndpointSchema = z.strictObject({ url, events, description });
export const updateEndpointSchema = z.strictObject({ url: url.optional(), events: events.optional(), description, enabled: z.boolean({ error: 'true or false' }).optional() });

export type CreateEndpointInput = z.output<typeof createEndpointSchema>;
export type UpdateEndpointInput = z.output<typeof updateEndpointSchema>;
