/**
 * The container-level encryption of a PSKC file (RFC 6030 §6.2): the key derived from the
 * admin's password with PBKDF2, the MAC key it unwraps, and decryption of each EncryptedValue
 * after its ValueMAC checked out. Pre-shared-key and asymmetric files are refused with a reason.
 */
import { ImportFormatError } from './import.types';
import { cipherKeyLength, decodeBase64, decryptCbc, derivePbkdf2, hmacDigest, macMatches, MAX_PBKDF2_ITERATIONS, PskcCryptoError, type Pbkdf2Params } from './pskc-crypto';
import { attr, child, path, textOf, type XmlElement } from './pskc-xml';

export interface Decryptor {
  /** Verifies `valueMac` over the CipherValue, then decrypts it. `where` names the element in messages. */
  decrypt(encryptedValue: XmlElement, valueMac: XmlElement | undefined, where: string): Buffer;
}

const fail = (message: string) => new ImportFormatError(message);

/** Built once per file: the key is derived a single time, not once per KeyPackage. */
export function createDecryptor(container: XmlElement, password: string | undefined): Decryptor {
  const encryptionKey = child(container, 'EncryptionKey');
  const keys = encryptionKey ? unlock(container, encryptionKey, password) : undefined;
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
      if (!macMatches(keys.macDigest, keys.macKey, data, mac)) throw fail(`${where}/ValueMAC does not match: the password is wrong or the file was altered.`);
      try {
        return decryptCbc(algorithm, keys.key, data);
      } catch (err) {
        if (err instanceof PskcCryptoError) throw fail(`${where}/EncryptedValue: ${err.message}.`);
        throw err;
      }
    },
  };
}

function unlock(container: XmlElement, encryptionKey: XmlElement, password: string | undefined) {
  const derived = child(encryptionKey, 'DerivedKey');
  if (!derived) {
    const name = textOf(child(encryptionKey, 'KeyName'));
    throw fail(`KeyContainer/EncryptionKey: the file is encrypted with a pre-shared or public key${name ? ` ("${name}")` : ''}, which is not supported; ask the vendor for a password-protected (PBKDF2) export.`);
  }
  if (!password) throw fail('This PSKC file is protected by a password: enter the password to import it.');
  const key = derivePbkdf2(password, pbkdf2Params(derived, firstCipher(container)));

  const macMethod = child(container, 'MACMethod');
  if (!macMethod) throw fail('KeyContainer/MACMethod is missing: an encrypted file must say how its values are authenticated.');
  const macDigest = hmacDigest(attr(macMethod, 'Algorithm') ?? '');
  if (!macDigest) throw fail(`KeyContainer/MACMethod: the algorithm "${attr(macMethod, 'Algorithm') ?? ''}" is not supported (use hmac-sha1 or hmac-sha256).`);
  const macKeyNode = child(macMethod, 'MACKey');
  // Drafts before RFC 6030 had no MACKey and used the encryption key itself.
  if (!macKeyNode) return { key, macKey: key, macDigest };
  const algorithm = attr(child(macKeyNode, 'EncryptionMethod'), 'Algorithm') ?? '';
  try {
    return { key, macKey: decryptCbc(algorithm, key, cipherValue(macKeyNode, 'KeyContainer/MACMethod/MACKey')), macDigest };
  } catch (err) {
    if (!(err instanceof PskcCryptoError)) throw err;
    if (/password is wrong/.test(err.message)) throw fail('The password is wrong: the MAC key of the file could not be decrypted with it.');
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
