/**
 * Reading PSKC XML into plain objects with fast-xml-parser. Namespace prefixes are removed, so
 * `pskc:KeyPackage`, `ns1:KeyPackage` and a default-namespace `KeyPackage` read alike: vendors
 * pick prefixes freely and PSKC never reuses a local name across its namespaces in a way we read.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ImportFormatError } from './import.types';

export type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  // Serials like "0012" and base64 values stay strings.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => name === 'KeyPackage',
});

/** Parses a PSKC document and returns its KeyContainer; refuses what is not well-formed PSKC. */
export function readKeyContainer(xml: string): XmlNode {
  const text = xml.replace(/^\uFEFF/, '');
  // PSKC needs no DTD; refusing one rules out entity-expansion and external-entity tricks outright.
  if (/<!DOCTYPE/i.test(text)) throw new ImportFormatError('The file contains a DOCTYPE, which PSKC files never need; it is refused for safety.');
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    throw new ImportFormatError(`The file is not well-formed XML: line ${line}, column ${col}: ${msg}`);
  }
  const doc = parser.parse(text) as XmlNode;
  const container = doc.KeyContainer;
  if (!isNode(container)) throw new ImportFormatError('The file is not PSKC: it has no KeyContainer element.');
  return container;
}

export function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A child element (undefined if absent); an element present twice comes back as an array. */
export function child(node: unknown, name: string): unknown {
  return isNode(node) ? node[name] : undefined;
}

export function attr(node: unknown, name: string): string | undefined {
  const value = child(node, `@${name}`);
  return typeof value === 'string' ? value.trim() : undefined;
}

/** The text of an element; '' for an empty one, undefined when absent or not a simple element. */
export function textOf(node: unknown): string | undefined {
  if (typeof node === 'string') return node.trim();
  if (typeof node === 'number' || typeof node === 'boolean') return String(node);
  if (isNode(node)) {
    const value = node['#text'];
    if (value === undefined) return Object.keys(node).every((k) => k.startsWith('@')) ? '' : undefined;
    return String(value).trim();
  }
  return undefined;
}
