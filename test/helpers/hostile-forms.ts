/** Hostile form values and a form reader for the crawling tests of the console's and portal's forms. */
import { randomBytes } from 'node:crypto';
import type request from 'supertest';
import { csrfFrom, type Agent } from './admin-agent';

export const HOSTILE: Record<string, string[]> = {
  nul: ['a\u0000b'],
  loneSurrogate: ['a\uD800b'],
  control: ['a\u0007\u001Bb'],
  long: [randomBytes(9_500).toString('hex')],
  huge: ['99999999999999999999999'],
  float: ['1e400'],
  negative: ['-1'],
  notANumber: ['NaN'],
  repeated: ['a', 'b'],
};

export const STACK = /\bat [^\n]*\.(ts|js):\d+|node_modules|Error: /;
export const DESTRUCTIVE = /\/(delete|revoke|disable|sign-out|remove)$/;

export interface Form { action: string; fields: [string, string][] }

/** The POST forms of a page: action and named fields with their current values. */
export function formsOf(html: string): Form[] {
  const forms: Form[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const attrs = m[1];
    if (!/method="post"/i.test(attrs) || /multipart/.test(attrs)) continue;
    const action = attrs.match(/action="([^"]+)"/)?.[1];
    if (!action) continue;
    const fields: [string, string][] = [];
    for (const input of m[2].matchAll(/<(input|select|textarea)\b([^>]*)>/g)) {
      const name = input[2].match(/name="([^"]+)"/)?.[1];
      if (!name || name === '_csrf') continue;
      if (/type="(checkbox|radio)"/.test(input[2]) && !/checked/.test(input[2])) continue;
      fields.push([name, input[2].match(/value="([^"]*)"/)?.[1] ?? '']);
    }
    forms.push({ action: action.replace(/&amp;/g, '&'), fields });
  }
  return forms;
}

/** A form body with raw percent-encoding (a lone surrogate as its invalid UTF-8 bytes). */
export function encode(fields: [string, string][]): string {
  const enc = (v: string) => v.split(/(?=[\uD800-\uDFFF])|(?<=[\uD800-\uDFFF])/).map((part) => {
    try { return encodeURIComponent(part); } catch { return '%ED%A0%80'; }
  }).join('');
  return fields.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

/**
 * GETs each page and posts each of its (non-destructive) forms once per field and hostile value,
 * the other fields keeping their values; answers the bad answers (5xx or a stack trace) and the
 * number of requests sent.
 */
export async function crawlForms(agent: Agent, pages: string[], host?: string): Promise<{ failures: string[]; sent: number }> {
  const failures: string[] = [];
  let sent = 0;
  for (const page of pages) {
    const get = agent.get(page);
    if (host) get.set('Host', host);
    const html = await get;
    if (html.status >= 500) failures.push(`GET ${page} -> ${html.status}`);
    const forms = formsOf(html.text).filter((f) => !DESTRUCTIVE.test(f.action));
    if (html.status !== 200 || !forms.length) continue;
    const csrf = csrfFrom(html.text);
    for (const form of forms) {
      for (const [field] of form.fields) {
        for (const [name, values] of Object.entries(HOSTILE)) {
          const fields: [string, string][] = [['_csrf', csrf], ...form.fields.filter(([f]) => f !== field), ...values.map((v): [string, string] => [field, v])];
          const post = agent.post(form.action).type('form');
          if (host) post.set('Host', host);
          const res: request.Response = await post.send(encode(fields));
          sent++;
          if (res.status >= 500 || STACK.test(res.text)) failures.push(`${form.action} ${field}=${name} -> ${res.status} ${res.text.slice(0, 200)}`);
        }
      }
    }
  }
  return { failures, sent };
}
