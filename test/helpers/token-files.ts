/**
 * Builds hardware-token seed files for tests: CSV lines and PSKC (RFC 6030) documents, plain or
 * password-protected, encrypted here with node:crypto the way vendors' tools do (PBKDF2, AES-CBC
 * with the IV prepended, HMAC over IV + ciphertext, MAC key encrypted under the same key).
 */
import { createCipheriv, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { base32Encode } from '../../src/otp/base32';

export interface SeedSpec {
  serial: string;
  seed: Buffer;
  kind: 'totp' | 'hotp';
  digits?: 6 | 8;
  period?: 30 | 60;
  counter?: number;
  algorithm?: 'SHA1' | 'SHA256' | 'SHA512';
}

/** `count` tokens with random 160-bit seeds, serials `${prefix}-000001`..., alternating TOTP and HOTP. */
export function randomSeeds(count: number, prefix: string): SeedSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    serial: `${prefix}-${String(i + 1).padStart(6, '0')}`,
    seed: randomBytes(20),
    kind: i % 2 === 0 ? 'totp' : 'hotp',
    digits: i % 3 === 0 ? 8 : 6,
    period: 30,
    counter: i,
  }));
}

/** CSV with a header; secrets alternate between base32 and hex so both readings are exercised. */
export function buildCsv(specs: SeedSpec[]): string {
  const lines = ['serial,secret,type,digits,period_or_counter,algorithm'];
  specs.forEach((s, i) => {
    const secret = i % 2 === 0 ? base32Encode(s.seed) : s.seed.toString('hex');
    const fifth = s.kind === 'totp' ? (s.period ?? 30) : (s.counter ?? 0);
    lines.push([s.serial, secret, s.kind, s.digits ?? 6, fifth, s.algorithm ?? 'SHA1'].join(','));
  });
  return `${lines.join('\n')}\n`;
}

export interface PskcOptions {
  password?: string;
  cipher?: 'aes128-cbc' | 'aes256-cbc';
  mac?: 'hmac-sha1' | 'hmac-sha256';
  prf?: 'hmac-sha1' | 'hmac-sha256';
  iterations?: number;
  /** Element prefix for the PSKC namespace ('' = default namespace). */
  prefix?: string;
}

const URI = {
  'aes128-cbc': 'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'aes256-cbc': 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'hmac-sha1': 'http://www.w3.org/2000/09/xmldsig#hmac-sha1',
  'hmac-sha256': 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256',
};

function encrypt(cipher: 'aes128-cbc' | 'aes256-cbc', key: Buffer, plain: Buffer): Buffer {
  const iv = randomBytes(16);
  const c = createCipheriv(cipher === 'aes128-cbc' ? 'aes-128-cbc' : 'aes-256-cbc', key, iv);
  return Buffer.concat([iv, c.update(plain), c.final()]);
}

export function buildPskc(specs: SeedSpec[], options: PskcOptions = {}): string {
  const p = options.prefix === undefined ? 'pskc:' : options.prefix ? `${options.prefix}:` : '';
  const ns = p ? `xmlns:${p.slice(0, -1)}="urn:ietf:params:xml:ns:keyprov:pskc"` : 'xmlns="urn:ietf:params:xml:ns:keyprov:pskc"';
  const cipher = options.cipher ?? 'aes128-cbc';
  const mac = options.mac ?? 'hmac-sha1';
  const out: string[] = [`<?xml version="1.0" encoding="UTF-8"?>`, `<${p}KeyContainer Version="1.0" ${ns} xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" xmlns:pkcs5="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#">`];
  let key: Buffer | undefined;
  let macKey: Buffer | undefined;
  if (options.password !== undefined) {
    const salt = randomBytes(8);
    const iterations = options.iterations ?? 1000;
    const keyLength = cipher === 'aes128-cbc' ? 16 : 32;
    const prf = options.prf ?? 'hmac-sha1';
    key = pbkdf2Sync(options.password, salt, iterations, keyLength, prf === 'hmac-sha1' ? 'sha1' : 'sha256');
    macKey = randomBytes(20);
    const prfXml = prf === 'hmac-sha1' ? '<PRF/>' : `<PRF Algorithm="${URI[prf]}"/>`;
    out.push(
      `<${p}EncryptionKey><xenc11:DerivedKey><xenc11:KeyDerivationMethod Algorithm="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2">`,
      `<pkcs5:PBKDF2-params><Salt><Specified>${salt.toString('base64')}</Specified></Salt><IterationCount>${iterations}</IterationCount><KeyLength>${keyLength}</KeyLength>${prfXml}</pkcs5:PBKDF2-params>`,
      `</xenc11:KeyDerivationMethod></xenc11:DerivedKey></${p}EncryptionKey>`,
      `<${p}MACMethod Algorithm="${URI[mac]}"><${p}MACKey><xenc:EncryptionMethod Algorithm="${URI[cipher]}"/><xenc:CipherData><xenc:CipherValue>${encrypt(cipher, key, macKey).toString('base64')}</xenc:CipherValue></xenc:CipherData></${p}MACKey></${p}MACMethod>`,
    );
  }
  for (const s of specs) {
    let secret: string;
    if (key && macKey) {
      const data = encrypt(cipher, key, s.seed);
      const valueMac = createHmac(mac === 'hmac-sha1' ? 'sha1' : 'sha256', macKey).update(data).digest('base64');
      secret = `<${p}EncryptedValue><xenc:EncryptionMethod Algorithm="${URI[cipher]}"/><xenc:CipherData><xenc:CipherValue>${data.toString('base64')}</xenc:CipherValue></xenc:CipherData></${p}EncryptedValue><${p}ValueMAC>${valueMac}</${p}ValueMAC>`;
    } else {
      secret = `<${p}PlainValue>${s.seed.toString('base64')}</${p}PlainValue>`;
    }
    const suite = s.algorithm && s.algorithm !== 'SHA1' ? `<${p}Suite>HMAC-${s.algorithm}</${p}Suite>` : '';
    const extra = s.kind === 'totp' ? `<${p}TimeInterval><${p}PlainValue>${s.period ?? 30}</${p}PlainValue></${p}TimeInterval>` : `<${p}Counter><${p}PlainValue>${s.counter ?? 0}</${p}PlainValue></${p}Counter>`;
    out.push(
      `  <${p}KeyPackage>`,
      `    <${p}DeviceInfo><${p}Manufacturer>Acme</${p}Manufacturer><${p}SerialNo>${s.serial}</${p}SerialNo></${p}DeviceInfo>`,
      `    <${p}Key Id="${s.serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:${s.kind}">`,
      `      <${p}AlgorithmParameters>${suite}<${p}ResponseFormat Length="${s.digits ?? 6}" Encoding="DECIMAL"/></${p}AlgorithmParameters>`,
      `      <${p}Data><${p}Secret>${secret}</${p}Secret>${extra}</${p}Data>`,
      `    </${p}Key>`,
      `  </${p}KeyPackage>`,
    );
  }
  out.push(`</${p}KeyContainer>`, '');
  return out.join('\n');
}
