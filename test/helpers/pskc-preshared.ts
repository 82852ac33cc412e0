/**
 * PSKC (RFC 6030 §6.1) documents encrypted with a pre-shared AES key, built here with node:crypto
 * the way the RFC's Figure 5 is: EncryptionKey holds only ds:KeyName, the MAC key is encrypted
 * with the pre-shared key (AES-CBC, IV prepended), each secret likewise, and each ValueMAC is the
 * HMAC of the encrypted value (IV + ciphertext) under the MAC key.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import type { SeedSpec } from './token-files';

/** RFC 6030 Figure 5 as published: key 12345678901234567890123456789012 (hex), HOTP seed "12345678901234567890". */
export const RFC6030_FIGURE5 = `<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0"
    xmlns="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
    xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
    <EncryptionKey>
        <ds:KeyName>Pre-shared-key</ds:KeyName>
    </EncryptionKey>
    <MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1">
        <MACKey>
            <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
            <xenc:CipherData>
                <xenc:CipherValue>
ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRejN9vJa2BOlSaMrR7I5wSX
                </xenc:CipherValue>
            </xenc:CipherData>
        </MACKey>
    </MACMethod>
    <KeyPackage>
        <DeviceInfo>
            <Manufacturer>Manufacturer</Manufacturer>
            <SerialNo>987654321</SerialNo>
        </DeviceInfo>
        <CryptoModuleInfo>
            <Id>CM_ID_001</Id>
        </CryptoModuleInfo>
        <Key Id="12345678"
            Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
            <Issuer>Issuer</Issuer>
            <AlgorithmParameters>
                <ResponseFormat Length="8" Encoding="DECIMAL"/>
            </AlgorithmParameters>
            <Data>
                <Secret>
                    <EncryptedValue>
                        <xenc:EncryptionMethod
            Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
                        <xenc:CipherData>
                            <xenc:CipherValue>
AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv
                            </xenc:CipherValue>
                        </xenc:CipherData>
                    </EncryptedValue>
                    <ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=
                    </ValueMAC>
                </Secret>
                <Counter>
                    <PlainValue>0</PlainValue>
                </Counter>
            </Data>
        </Key>
    </KeyPackage>
</KeyContainer>
`;

export const RFC6030_PRESHARED_KEY = '12345678901234567890123456789012';

export interface PreSharedOptions {
  keyName?: string;
  mac?: 'hmac-sha1' | 'hmac-sha256';
  /** Also encrypt the HOTP Counter (an 8-byte big-endian xs:long). */
  encryptCounter?: boolean;
}

const MAC_URI = { 'hmac-sha1': 'http://www.w3.org/2000/09/xmldsig#hmac-sha1', 'hmac-sha256': 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256' };

function aes(key: Buffer): { uri: string; cipher: string } {
  const bits = key.length * 8;
  if (![128, 192, 256].includes(bits)) throw new RangeError(`a pre-shared key has 16, 24 or 32 bytes, not ${key.length}`);
  return { uri: `http://www.w3.org/2001/04/xmlenc#aes${bits}-cbc`, cipher: `aes-${bits}-cbc` };
}

function encrypt(key: Buffer, plain: Buffer): Buffer {
  const iv = randomBytes(16);
  const c = createCipheriv(aes(key).cipher, key, iv);
  return Buffer.concat([iv, c.update(plain), c.final()]);
}

export function buildPreSharedPskc(specs: SeedSpec[], key: Buffer, options: PreSharedOptions = {}): string {
  const { uri } = aes(key);
  const mac = options.mac ?? 'hmac-sha1';
  const macKey = randomBytes(mac === 'hmac-sha1' ? 20 : 32);
  const digest = mac === 'hmac-sha1' ? 'sha1' : 'sha256';
  const encrypted = (plain: Buffer) => {
    const data = encrypt(key, plain);
    const valueMac = createHmac(digest, macKey).update(data).digest('base64');
    return `<EncryptedValue><xenc:EncryptionMethod Algorithm="${uri}"/><xenc:CipherData><xenc:CipherValue>${data.toString('base64')}</xenc:CipherValue></xenc:CipherData></EncryptedValue><ValueMAC>${valueMac}</ValueMAC>`;
  };
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">',
    `  <EncryptionKey><ds:KeyName>${options.keyName ?? 'Pre-shared-key'}</ds:KeyName></EncryptionKey>`,
    `  <MACMethod Algorithm="${MAC_URI[mac]}"><MACKey><xenc:EncryptionMethod Algorithm="${uri}"/><xenc:CipherData><xenc:CipherValue>${encrypt(key, macKey).toString('base64')}</xenc:CipherValue></xenc:CipherData></MACKey></MACMethod>`,
  ];
  for (const s of specs) {
    const suite = s.algorithm && s.algorithm !== 'SHA1' ? `<Suite>HMAC-${s.algorithm}</Suite>` : '';
    let extra: string;
    if (s.kind === 'totp') extra = `<TimeInterval><PlainValue>${s.period ?? 30}</PlainValue></TimeInterval>`;
    else if (options.encryptCounter) {
      const counter = Buffer.alloc(8);
      counter.writeBigUInt64BE(BigInt(s.counter ?? 0));
      extra = `<Counter>${encrypted(counter)}</Counter>`;
    } else extra = `<Counter><PlainValue>${s.counter ?? 0}</PlainValue></Counter>`;
    out.push(
      '  <KeyPackage>',
      `    <DeviceInfo><Manufacturer>Acme</Manufacturer><SerialNo>${s.serial}</SerialNo></DeviceInfo>`,
      `    <Key Id="${s.serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:${s.kind}">`,
      `      <AlgorithmParameters>${suite}<ResponseFormat Length="${s.digits ?? 6}" Encoding="DECIMAL"/></AlgorithmParameters>`,
      `      <Data><Secret>${encrypted(s.seed)}</Secret>${extra}</Data>`,
      '    </Key>',
      '  </KeyPackage>',
    );
  }
  out.push('</KeyContainer>', '');
  return out.join('\n');
}
