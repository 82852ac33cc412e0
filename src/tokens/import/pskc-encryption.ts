/**
 * The container-level encryption of a PSKC file: the key the admin supplies, either derived from
 * a password with PBKDF2 (RFC 6030 §6.2) or a pre-shared AES key given in hex (§6.1, the file
 * names it in EncryptionKey/ds:KeyName); the MAC key it unwraps; and decryption of each
 * EncryptedValue after its ValueMAC checked out. Which of the two is used is decided by what the
 * file declares, never by what the admin filled in. Asymmetric (public-key) files are refused.
 */
import { ImportFormatError, printable } from './import.types';
import { cipherKeyLength, decodeBase64, decryptCbc, derivePbkdf2, hmacDigest, macMatches, MAX_PBKDF2_ITERATIONS, parseHexKey, PskcCryptoError, PskcWrongKeyError, type Pbkdf2Params } from './pskc-crypto';
import { attr, child, path, textOf, type XmlElement } from './pskc-xml';

/** What the admin typed; only the one the file asks for is read. */
export interface PskcCredentials {
  password?: string;
  /** Hex, 16, 24 or 32 bytes. */
  preSharedKey?: string;
}

export interface Decryptor {
  /** Verifies `valueMac` over the CipherValue, then decrypts it. `where` names the element in messages. */
  decrypt(encryptedValue: XmlElement, valueMac: XmlElement | undefined, where: string): Buffer;
}

interface Keys {
  key: Buffer;
  /** Undefined when the MACKey could not be decrypted: reported at the first encrypted value, so the message names its KeyPackage. */
  macKey: Buffer | undefined;
  macDigest: string;
  /** How messages name the admin's secret. */
  noun: 'password' | 'pre-shared key';
}

const fail = (message: string) => new ImportFormatError(message);

/** Built once per file: the key is derived (or parsed) a single time, not once per KeyPackage. */
export function createDecryptor(container: XmlElement, credentials: PskcCredentials): Decryptor {
  const encryptionKey = child(container, 'EncryptionKey');
  const keys = encryptionKey ? unlock(container, encryptionKey, credentials) : undefined;
  return {
    decrypt(encryptedValue, valueMac, where) {
      if (!keys) throw fail(`${where}/EncryptedValue: the file has encrypted values but no KeyContainer/EncryptionKey.`);
      const algorithm = attr(child(encryptedValue, 'EncryptionMethod'), 'Algorithm');
      if (!algorithm) throw fail(`${where}/EncryptedValue has no EncryptionMethod Algorithm.`);
      const data = cipherValue(encryptedValue, `${where}/EncryptedValue`);
      const macText = textOf(valueMac);
      if (!macText) throw fail(`${where}/ValueMAC is missing: encrypted values must carry a MAC.`);
      const mac = decodeBase64(macText);
      if (!mac) throw fail(`${where}/ValueMAC is not valid base64.`);
      if (!keys.macKey) throw fail(`${where}/ValueMAC cannot be checked: the ${keys.noun} is wrong (the MAC key of the file could not be decrypted with it).`);
      // The MAC is checked before anything is decrypted (RFC 6030 §6.1.1), in constant time.
      if (!macMatches(keys.macDigest, keys.macKey, data, mac)) throw fail(`${where}/ValueMAC does not match: the ${keys.noun} is wrong or the file was altered.`);
      try {
        return decryptCbc(algorithm, keys.key, data);
      } catch (err) {
        if (err instanceof PskcWrongKeyError) throw fail(`${where}/EncryptedValue: ${err.message}: the ${keys.noun} is wrong.`);
        if (err instanceof PskcCryptoError) throw fail(`${where}/EncryptedValue: ${err.message}.`);
        throw err;
      }
    },
  };
}

function unlock(container: XmlElement, encryptionKey: XmlElement, credentials: PskcCredentials): Keys {
  const derived = child(encryptionKey, 'DerivedKey');
  if (derived) {
    if (!credentials.password) throw fail('This PSKC file is protected by a password: enter the password to import it.');
    return macKeys(container, derivePbkdf2(credentials.password, pbkdf2Params(derived, firstCipher(container))), 'password');
  }
  // RFC 6030 §6.1: a pre-shared key is only named (ds:KeyName); §6.3's public keys come as
  // ds:X509Data (or another ds:KeyInfo child), which we do not support.
  const name = textOf(child(encryptionKey, 'KeyName'));
  const other = encryptionKey.children.find((c) => c.name !== 'KeyName');
  if (other) {
    throw fail(`KeyContainer/EncryptionKey: the file is encrypted with a public key (${other.name}), which is not supported; ask the vendor for an export protected by a password (PBKDF2) or a pre-shared key.`);
  }
  const named = name ? ` ("${printable(name)}")` : '';
  if (!credentials.preSharedKey?.trim()) throw fail(`This PSKC file is encrypted with a pre-shared key${named}: enter that key, in hex, to import it.`);
  const key = parseHexKey(credentials.preSharedKey);
  if (!key) throw fail('The pre-shared key should be written in hex: 32, 48 or 64 hex digits (a 16, 24 or 32-byte AES key).');
  const cipher = firstCipher(container) ?? '';
  const needed = cipherKeyLength(cipher);
  if (needed && needed !== key.length) {
    throw fail(`The pre-shared key has ${key.length} bytes but the file is encrypted with AES-${needed * 8}, which needs a ${needed}-byte key (${needed * 2} hex digits): check the key.`);
  }
  return macKeys(container, key, 'pre-shared key');
}

/** The MAC method and the MAC key, decrypted with the file's encryption key. */
function macKeys(container: XmlElement, key: Buffer, noun: Keys['noun']): Keys {
  const macMethod = child(container, 'MACMethod');
  if (!macMethod) throw fail('KeyContainer/MACMethod is missing: an encrypted file must say how its values are authenticated.');
  const macDigest = hmacDigest(attr(macMethod, 'Algorithm') ?? '');
  if (!macDigest) throw fail(`KeyContainer/MACMethod: the algorithm "${attr(macMethod, 'Algorithm') ?? ''}" is not supported (use hmac-sha1 or hmac-sha256).`);
  const macKeyNode = child(macMethod, 'MACKey');
  // Drafts before RFC 6030 had no MACKey and used the encryption key itself.
  if (!macKeyNode) return { key, macKey: key, macDigest, noun };
  const algorithm = attr(child(macKeyNode, 'EncryptionMethod'), 'Algorithm') ?? '';
  try {
    return { key, macKey: decryptCbc(algorithm, key, cipherValue(macKeyNode, 'KeyContainer/MACMethod/MACKey')), macDigest, noun };
  } catch (err) {
    if (!(err instanceof PskcCryptoError)) throw err;
    if (err instanceof PskcWrongKeyError) {
      if (noun === 'password') throw fail('The password is wrong: the MAC key of the file could not be decrypted with it.');
      // A wrong pre-shared key is reported at the first encrypted value, naming its KeyPackage;
      // it reads the same as the rarer case where the padding happens to check out and the MAC does not.
      return { key, macKey: undefined, macDigest, noun };
    }
    throw fail(`KeyContainer/MACMethod/MACKey: ${err.message}.`);
  }
}

function pbkdf2Params(derived: XmlElement, cipher: string | undefined): Pbkdf2Params {
  const method = child(derived, 'KeyDerivationMethod');
  const where = 'KeyContainer/EncryptionKey/DerivedKey/KeyDerivationMethod';
  if (!/#pbkdf2$/i.test(attr(method, 'Algorithm') ?? '')) throw fail(`${where}: only PBKDF2 key derivation is supported.`);
  const params = child(method, 'PBKDF2-params');
  const salt = decodeBase64(textOf(path(params, 'Salt/Specified')) ?? '');
  if (!salt || salt.length === 0) throw fail(`${where}/PBKDF2-params/Salt/Specified is missing or not base64.`);
  const iterations = Number(textOf(child(params, 'IterationCount')));
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) {
    throw fail(`${where}/PBKDF2-params/IterationCount should be a whole number from 1 to ${MAX_PBKDF2_ITERATIONS}.`);
  }
  const lengthText = textOf(child(params, 'KeyLength'));
  const keyLength = lengthText ? Number(lengthText) : cipherKeyLength(cipher ?? '');
  if (!keyLength || ![16, 24, 32].includes(keyLength)) throw fail(`${where}/PBKDF2-params/KeyLength should be 16, 24 or 32 bytes.`);
  const prf = attr(child(params, 'PRF'), 'Algorithm');
  const digest = prf ? hmacDigest(prf) : 'sha1';
  if (!digest) throw fail(`${where}/PBKDF2-params/PRF: "${prf}" is not supported (use hmac-sha1 or hmac-sha256).`);
  return { salt, iterations, keyLength, digest };
}

/** The cipher in use, to size the derived key when KeyLength is not given. */
function firstCipher(container: XmlElement): string | undefined {
  return (
    attr(path(container, 'MACMethod/MACKey/EncryptionMethod'), 'Algorithm') ??
    attr(path(container, 'KeyPackage/Key/Data/Secret/EncryptedValue/EncryptionMethod'), 'Algorithm')
  );
}

function cipherValue(node: XmlElement, where: string): Buffer {
  const text = textOf(path(node, 'CipherData/CipherValue'));
  const data = text ? decodeBase64(text) : undefined;
  if (!data) throw fail(`${where}/CipherData/CipherValue is missing or not valid base64.`);
  return data;
}
