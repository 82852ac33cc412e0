/**
 * Access-Request in, Access-Accept/Reject/Challenge out, with the `radius` package doing the
 * encoding and the attribute decoding (dictionaries, User-Password hiding).
 *
 * Message-Authenticator (RFC 3579 §3.2, the BlastRADIUS fix, CVE-2024-3596) is required on every
 * request and checked here on the raw bytes with a constant-time comparison: the library checks
 * it only when present, and compares the two HMACs as UTF-8 strings, which maps every invalid
 * byte to U+FFFD and so would accept some wrong values. Responses carry one (the library adds it
 * when the request had one).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import radius from 'radius';

const HEADER = 20;
const MAX_PACKET = 4096;
const ACCESS_REQUEST = 1;
const MESSAGE_AUTHENTICATOR = 80;

export type DropReason = 'malformed' | 'not_access_request' | 'no_message_authenticator' | 'bad_authenticator';

export interface AccessRequest {
  identifier: number;
  authenticator: Buffer;
  userName?: string;
  /** Decrypted User-Password; undefined when absent (CHAP and EAP are not supported). */
  password?: string;
  state?: Buffer;
  /** The decoded packet, for the library's encode_response. */
  raw: radius.RadiusPacket;
}

export type Parsed = { ok: true; request: AccessRequest } | { ok: false; reason: DropReason };

/** The packet's declared length if the header is sane, else undefined (RFC 2865 §3: shorter datagrams are dropped, octets past the length ignored). */
function declaredLength(datagram: Buffer): number | undefined {
  if (datagram.length < HEADER) return undefined;
  const length = datagram.readUInt16BE(2);
  if (length < HEADER || length > MAX_PACKET || length > datagram.length) return undefined;
  return length;
}

/**
 * Offset of the one Message-Authenticator attribute's value, 'none' without one, undefined when
 * the attributes do not tile the packet exactly or it has several.
 */
function messageAuthenticatorOffset(packet: Buffer): number | 'none' | undefined {
  let found: number | 'none' = 'none';
  for (let at = HEADER; at < packet.length; ) {
    if (at + 2 > packet.length) return undefined;
    const type = packet[at]!;
    const length = packet[at + 1]!;
    if (length < 2 || at + length > packet.length) return undefined;
    if (type === MESSAGE_AUTHENTICATOR) {
      if (found !== 'none' || length !== 18) return undefined;
      found = at + 2;
    }
    at += length;
  }
  return found;
}

function hasValidMessageAuthenticator(packet: Buffer, offset: number, secret: string): boolean {
  const zeroed = Buffer.from(packet);
  zeroed.fill(0, offset, offset + 16);
  const expected = createHmac('md5', secret).update(zeroed).digest();
  return timingSafeEqual(expected, packet.subarray(offset, offset + 16));
}

/** A copy of the packet without the 18-octet attribute at `at`, its length field adjusted. */
function withoutAttribute(packet: Buffer, at: number): Buffer {
  const copy = Buffer.concat([packet.subarray(0, at), packet.subarray(at + 18)]);
  copy.writeUInt16BE(copy.length, 2);
  return copy;
}

/** Checks and decodes one datagram from a known client. Never throws. */
export function parseAccessRequest(datagram: Buffer, secret: string): Parsed {
  const length = declaredLength(datagram);
  if (length === undefined) return { ok: false, reason: 'malformed' };
  const packet = datagram.subarray(0, length);
  if (packet[0] !== ACCESS_REQUEST) return { ok: false, reason: 'not_access_request' };
  const offset = messageAuthenticatorOffset(packet);
  if (offset === undefined) return { ok: false, reason: 'malformed' };
  if (offset === 'none') return { ok: false, reason: 'no_message_authenticator' };
  if (!hasValidMessageAuthenticator(packet, offset, secret)) return { ok: false, reason: 'bad_authenticator' };
  let raw: radius.RadiusPacket;
  try {
    // Decoded without the Message-Authenticator just checked, so the library does not check it
    // again (by re-encoding the whole packet); encode_response still adds one to the answer.
    raw = radius.decode({ packet: withoutAttribute(packet, offset - 2), secret });
    raw.attributes['Message-Authenticator'] = packet.subarray(offset, offset + 16);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const a = raw.attributes as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    ok: true,
    request: {
      identifier: raw.identifier,
      authenticator: packet.subarray(4, HEADER),
      userName: text(a['User-Name']),
      password: text(a['User-Password']),
      state: Buffer.isBuffer(a['State']) ? (a['State'] as Buffer) : undefined,
      raw,
    },
  };
}

export type ResponseCode = 'Access-Accept' | 'Access-Reject' | 'Access-Challenge';

/** The response to a request, with Message-Authenticator; a Reply-Message and State when given. */
export function encodeResponse(request: AccessRequest, secret: string, code: ResponseCode, extra: { replyMessage?: string; state?: Buffer } = {}): Buffer {
  const attributes: Array<[string, string | Buffer]> = [];
  if (extra.replyMessage) attributes.push(['Reply-Message', extra.replyMessage]);
  if (extra.state) attributes.push(['State', extra.state]);
  return radius.encode_response({ packet: request.raw, code, secret, attributes });
}
