/**
 * `npm run build`: compiles src/, workers/ and migrations/ to dist/ with the TypeScript compiler,
 * as ES modules that plain `node` runs (the Procfile roles). The sources import each other without
 * file extensions (`./services`), which tsx and the type checker accept but Node's ESM loader does
 * not; this emit step adds the extension each relative import resolves to (`./services.js`,
 * `./dir/index.js`) in the compiled output only, so the sources stay as they are (and new files
 * written the same way need nothing). Views, static files and node_modules are read from the project root, not copied.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist');

/** The specifier with the extension Node needs, or unchanged when it is not a relative import of our sources. */
function withExtension(specifier, fromFile) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return specifier;
  if (/\.(m?js|cjs|json)$/.test(specifier)) return specifier;
  const base = path.resolve(path.dirname(fromFile), specifier);
  if (existsSync(`${base}.ts`)) return `${specifier}.js`;
  if (existsSync(path.join(base, 'index.ts'))) return `${specifier}/index.js`;
  throw new Error(`${path.relative(ROOT, fromFile)}: cannot resolve import "${specifier}"`);
}

function rewriteImports(context) {
  const f = context.factory;
  return (sourceFile) => {
    const literal = (node) => f.createStringLiteral(withExtension(node.text, sourceFile.fileName));
    const visit = (node) => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        return f.updateImportDeclaration(node, node.modifiers, node.importClause, literal(node.moduleSpecifier), node.attributes);
      }
      if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        return f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, literal(node.moduleSpecifier), node.attributes);
      }
      // import('./db/embedded'): loaded on demand.
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length >= 1 && ts.isStringLiteral(node.arguments[0])) {
        return f.updateCallExpression(node, node.expression, node.typeArguments, [literal(node.arguments[0]), ...node.arguments.slice(1)]);
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitNode(sourceFile, visit);
  };
}

/**
 * Each file is compiled on its own (ts.transpileModule), which the project's `isolatedModules`
 * makes exact: a few seconds instead of a whole-program compile. Types are checked by
 * `npm run typecheck` (CI runs both), so the build never emits code that did not type-check there.
 */
function main() {
  const configPath = path.join(ROOT, 'tsconfig.build.json');
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, configPath);
  if (parsed.errors.length) throw new Error(parsed.errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, '\n')).join('\n'));
  rmSync(OUT, { recursive: true, force: true });
  for (const file of parsed.fileNames) {
    const out = path.join(OUT, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
    const result = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { ...parsed.options, sourceMap: true, inlineSources: false },
      fileName: file,
      reportDiagnostics: true,
      transformers: { after: [rewriteImports] },
    });
    if (result.diagnostics?.length) {
      console.error(ts.formatDiagnostics(result.diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' }));
      process.exit(1);
    }
    mkdirSync(path.dirname(out), { recursive: true });
    const map = `${path.basename(out)}.map`;
    writeFileSync(out, result.outputText.replace(/\/\/# sourceMappingURL=.*$/m, `//# sourceMappingURL=${map}`));
    if (result.sourceMapText) writeFileSync(`${out}.map`, result.sourceMapText);
  }
  // Marks a complete build; test/helpers/processes.ts compares it with the sources' times.
  writeFileSync(path.join(OUT, '.built'), `${new Date().toISOString()}\n`);
  console.log(`built ${parsed.fileNames.length} files into dist/`);
}

main();
