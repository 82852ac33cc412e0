/**
 * Reads PSKC XML into a small element tree with saxes: a strict (XML 1.0 well-formedness,
 * namespace-aware) streaming parser, about ten times faster than object-mapping parsers on a
 * 10 000-key file. Elements are matched by local name, so `pskc:KeyPackage`, `ns1:KeyPackage` and
 * a default-namespace `KeyPackage` read alike, as vendors pick prefixes freely; saxes resolves
 * every prefix, so an undeclared one is refused as malformed.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { ImportFormatError } from './import.types';

export interface XmlElement {
  /** Local name, without prefix. */
  name: string;
  /** Unprefixed attributes (the only kind PSKC defines), by name. */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Character data (CDATA included) before the first child element, untrimmed. */
  text: string;
  /** 1-based line where the start tag ends, for messages. */
  line: number;
}

/** Parses a PSKC document and returns its KeyContainer; refuses what is not well-formed PSKC. */
export function readKeyContainer(xml: string): XmlElement {
  const text = xml.replace(/^\uFEFF/, '');
  // PSKC needs no DTD; refusing one rules out entity-expansion and external-entity tricks outright.
  if (/<!DOCTYPE/i.test(text)) throw new ImportFormatError('The file contains a DOCTYPE, which PSKC files never need; it is refused for safety.');
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  parser.on('opentag', (tag: SaxesTagNS) => {
    const attrs: Record<string, string> = {};
    for (const name in tag.attributes) {
      const a = tag.attributes[name];
      if (!a.prefix && name !== 'xmlns') attrs[a.local] = a.value;
    }
    const element: XmlElement = { name: tag.local, attrs, children: [], text: '', line: parser.line };
    if (stack.length) stack[stack.length - 1].children.push(element);
    else root = element;
    stack.push(element);
  });
  parser.on('closetag', () => void stack.pop());
  // Only leaf elements carry values in PSKC: the indentation between child elements is not kept.
  const addText = (data: string) => {
    const current = stack[stack.length - 1];
    if (current && current.children.length === 0) current.text += data;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  try {
    parser.write(text).close();
  } catch (err) {
    // saxes reports "line:column: message".
    const match = /^(\d+):(\d+): ([\s\S]*)$/.exec((err as Error).message);
    throw new ImportFormatError(match ? `The file is not well-formed XML: line ${match[1]}, column ${match[2]}: ${match[3].replace(/\.$/, '')}.` : `The file is not well-formed XML: ${(err as Error).message}.`);
  }
  if (root?.name !== 'KeyContainer') throw new ImportFormatError('The file is not PSKC: its root element is not KeyContainer.');
  return root;
}

/** The first child element with this local name. */
export function child(node: XmlElement | undefined, name: string): XmlElement | undefined {
  return node?.children.find((c) => c.name === name);
}

/** Every child element with this local name. */
export function children(node: XmlElement | undefined, name: string): XmlElement[] {
  return node ? node.children.filter((c) => c.name === name) : [];
}

/** Follows a path of local names ("Key/Data/Secret") through first children. */
export function path(node: XmlElement | undefined, steps: string): XmlElement | undefined {
  return steps.split('/').reduce<XmlElement | undefined>((at, name) => child(at, name), node);
}

export function attr(node: XmlElement | undefined, name: string): string | undefined {
  return node?.attrs[name]?.trim();
}

/** Trimmed text of an element; undefined when the element is absent. */
export function textOf(node: XmlElement | undefined): string | undefined {
  return node?.text.trim();
}
