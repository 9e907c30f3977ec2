// The types tell the truth. The package as npm would pack it goes into a fresh consumer project
// (node_modules/memmap, with @types/node beside it and nothing else); then:
// - the names each entry exports at run time (`import('memmap')`, `require('memmap')`) are the
//   values its declarations export (index.d.mts, index.d.ts), so an export added to the CommonJS
//   build and forgotten in index.mjs, or declared and never exported, fails here;
// - MemmapErrorCode lists every ERR_* code the sources throw, and no other;
// - an ESM (.mts) and a CommonJS (.cts) consumer type-check with `strict` and `nodenext`, with the
//   shipped declarations checked too (no skipLibCheck, no `types`: the package's own reference
//   brings @types/node), each rejection marked `@ts-expect-error`; compiled, both run and show that
//   what the types allowed works (the default import among it) and what they refused would throw.

import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import * as ts from 'typescript'

import { emulator, nativeTarget, packedFiles, root, tempDir, testIf } from '../helpers.js'

// Declarations are the same on every platform; under wine or qemu tsc only takes minutes longer.
const native = testIf(emulator === null, 'the types do not depend on the platform, and tsc is slow under an emulator')

/** The binary this machine's build made (or the one already chosen): the packed package has none. */
const env = {
  ...process.env,
  NAPI_RS_NATIVE_LIBRARY_PATH: process.env.NAPI_RS_NATIVE_LIBRARY_PATH ?? join(root, `memmap.${nativeTarget()}.node`),
}

let made: string | undefined
/** The consumer project, made once: the files `npm pack` would put in the tarball, and @types/node. */
function consumer(): string {
  if (made !== undefined) return made
  const dir = tempDir()
  const installed = join(dir, 'node_modules', 'memmap')
  for (const path of packedFiles()) {
    mkdirSync(dirname(join(installed, path)), { recursive: true })
    copyFileSync(join(root, path), join(installed, path))
  }
  mkdirSync(join(dir, 'node_modules', '@types'))
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'junction')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  made = dir
  return dir
}

const sorted = (names: Iterable<string>): string[] => [...names].toSorted()

/** The exports of `memmap` as an ESM (.mts) and a CommonJS (.cts) file see them (one program, made once). */
let program: ts.Program | undefined
function declared(dir: string) {
  writeFileSync(join(dir, 'names.mts'), "import * as memmap from 'memmap'\nexport { memmap }\n")
  writeFileSync(join(dir, 'names.cts'), "import * as memmap from 'memmap'\nexport { memmap }\n")
  program ??= ts.createProgram([join(dir, 'names.mts'), join(dir, 'names.cts')], {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    noEmit: true,
  })
  const checker = program.getTypeChecker()
  const entry = (file: string) => {
    const source = program?.getSourceFile(join(dir, file))
    if (source === undefined) throw new Error(`${file} is not in the program`)
    const [first] = source.statements
    const namespace = first !== undefined && ts.isImportDeclaration(first) ? first.importClause?.namedBindings : undefined
    if (first === undefined || namespace === undefined || !ts.isNamespaceImport(namespace)) throw new Error(`${file} starts with no import`)
    const module = checker.getSymbolAtLocation((first as ts.ImportDeclaration).moduleSpecifier)
    if (module === undefined) throw new Error(`memmap does not resolve from ${file}`)
    const exports = checker.getExportsOfModule(module).map((symbol) => ({
      name: symbol.name,
      target: symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol,
    }))
    return {
      file: module.declarations?.[0]?.getSourceFile().fileName ?? '',
      all: sorted(exports.map((e) => e.name)),
      // The values are the namespace object's properties: a type-only export is none of them.
      values: sorted(checker.getTypeAtLocation(namespace.name).getProperties().map((p) => p.name)),
      type: (name: string) => {
        const found = exports.find((e) => e.name === name)
        if (found === undefined) throw new Error(`${name} is not exported`)
        return checker.getDeclaredTypeOfSymbol(found.target)
      },
    }
  }
  return { esm: entry('names.mts'), cjs: entry('names.cts'), diagnostics: ts.getPreEmitDiagnostics(program) }
}

native('each entry exports at run time exactly the values its declarations name', (t) => {
  const dir = consumer()
  const run = spawnSync(
    process.execPath,
    ['-e', "import('memmap').then((esm) => console.log(JSON.stringify({ esm: Object.keys(esm), cjs: Object.keys(require('memmap')) })))"],
    { cwd: dir, encoding: 'utf8', env },
  )
  t.is(run.status, 0, run.stderr)
  const runtime = JSON.parse(run.stdout) as { esm: string[]; cjs: string[] }

  const { esm, cjs, diagnostics } = declared(dir)
  t.deepEqual(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')), [])
  // Each condition gets its own declarations: ESM types for the ESM entry.
  t.regex(esm.file, /[/\\]memmap[/\\]index\.d\.mts$/)
  t.regex(cjs.file, /[/\\]memmap[/\\]index\.d\.ts$/)
  t.deepEqual(esm.values, sorted(runtime.esm), 'index.mjs against index.d.mts')
  t.deepEqual(cjs.values, sorted(runtime.cjs), 'index.js against index.d.ts')
  // Both entries have the same names, types included, and a default.
  t.deepEqual(esm.all, cjs.all)
  t.true(esm.values.includes('default'))
})

/** Every `'ERR_…'` string in the TypeScript facade, the loader and the Rust sources. */
function thrownCodes(): Set<string> {
  const sources: string[] = [join(root, 'loader.js')]
  for (const name of readdirSync(join(root, 'src'))) {
    // types.ts declares the union itself.
    if (name.endsWith('.ts') && !name.endsWith('.d.ts') && name !== 'types.ts') sources.push(join(root, 'src', name))
  }
  for (const crate of ['memmap-core', 'memmap-node']) {
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name))
        else if (entry.name.endsWith('.rs')) sources.push(join(dir, entry.name))
      }
    }
    walk(join(root, 'crates', crate, 'src'))
  }
  const codes = new Set<string>()
  for (const file of sources) {
    for (const match of readFileSync(file, 'utf8').matchAll(/["'](ERR_[A-Z0-9_]+)["']/g)) codes.add(match[1] as string)
  }
  return codes
}

native('MemmapErrorCode is every ERR_* code the package throws', (t) => {
  const { cjs } = declared(consumer())
  const union = cjs.type('MemmapErrorCode')
  const members = (union.isUnion() ? union.types : [union]).map((member) => (member as ts.StringLiteralType).value)
  const codes = thrownCodes()
  t.true(codes.size >= 10, `the scan found ${codes.size} codes`)
  t.deepEqual(sorted(members), sorted(codes))
})

const ESM_CONSUMER = `
import memmap, {
  anonymous,
  Mapping,
  type AnonymousOptions,
  type CreateSharedOptions,
  type MemmapError,
  type MemmapErrorCode,
  type OpenOptions,
  type OpenSharedOptions,
  type WaitResult,
} from 'memmap'
import { createRequire } from 'node:module'

// The default import is the object require('memmap') returns.
const options: AnonymousOptions = { populate: true }
const m = memmap.anonymous(4096, options)
const same = memmap === createRequire(import.meta.url)('memmap')
const selfDefault = memmap.default === memmap

// instanceof narrows; the atomics' wait result is its own type.
const value: unknown = m
const length: number = value instanceof Mapping ? value.length : -1
const wait: WaitResult = m.atomics.wait(0, 1, 0)
m.close()

// Only the package makes mappings: the types refuse, and the constructor throws.
let illegal: string | undefined
try {
  // @ts-expect-error Mapping's constructor is not callable
  new Mapping()
} catch (error) {
  illegal = (error as MemmapError).code
}
class Sub extends Mapping {}
let subclass: string | undefined
try {
  // @ts-expect-error nor a subclass's
  new Sub()
} catch (error) {
  subclass = (error as MemmapError).code
}

// Error codes: the union is the codes, not any string.
let code: MemmapErrorCode | string | undefined
try {
  anonymous(-1)
} catch (error) {
  code = (error as MemmapError).code
}
const closed: MemmapErrorCode = 'ERR_MMAP_CLOSED'
// @ts-expect-error not one of memmap's codes
const notACode: MemmapErrorCode = 'ERR_NOT_A_CODE'

// The options are the calls' own.
const file: OpenOptions = { mode: 'r', offset: 0n }
const shared: CreateSharedOptions = { exclusive: true }
// @ts-expect-error the option is readOnly
const typo: OpenSharedOptions = { readonly: true }

console.log(JSON.stringify({ same, selfDefault, length, wait, illegal, subclass, code }))
export { closed, file, notACode, shared, typo }
`

const CJS_CONSUMER = `
import memmap = require('memmap')
import def, { anonymous, Mapping, type MemmapError, type WaitResult } from 'memmap'

// The default import (compiled to require('memmap').default) is the module object too.
const m = def.anonymous(4096)
const same = def === memmap
const length: number = m instanceof Mapping ? m.length : -1
const wait: WaitResult = m.atomics.wait(0, 0, 0)
m.close()

let illegal: string | undefined
try {
  // @ts-expect-error Mapping's constructor is not callable
  new memmap.Mapping()
} catch (error) {
  illegal = (error as MemmapError).code
}

let code: string | undefined
try {
  anonymous(1, { populate: 'yes' as unknown as boolean })
} catch (error) {
  code = (error as MemmapError).code
}

console.log(JSON.stringify({ same, length, wait, illegal, code }))
`

native('ESM and CommonJS consumers type-check with strict nodenext, and run as the types say', (t) => {
  const dir = consumer()
  const installed = join(dir, 'node_modules', 'memmap')
  // The reference is in the shipped declarations, where TypeScript would drop it unless preserved.
  t.regex(readFileSync(join(installed, 'index.d.ts'), 'utf8'), /^\/\/\/ <reference types="node"/)
  t.regex(readFileSync(join(installed, 'index.d.mts'), 'utf8'), /^\/\/\/ <reference types="node"/m)

  writeFileSync(join(dir, 'esm.mts'), ESM_CONSUMER)
  writeFileSync(join(dir, 'cjs.cts'), CJS_CONSUMER)
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        // No `types`: @types/node comes only from memmap's own reference.
        types: [],
        skipLibCheck: false,
        outDir: 'out',
      },
      files: ['esm.mts', 'cjs.cts'],
    }),
  )
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: dir,
    encoding: 'utf8',
  })
  t.is(tsc.status, 0, tsc.stdout + tsc.stderr)

  const node = (file: string) => {
    const run = spawnSync(process.execPath, [join(dir, 'out', file)], { cwd: dir, encoding: 'utf8', env })
    t.is(run.status, 0, run.stderr)
    return JSON.parse(run.stdout) as Record<string, unknown>
  }
  t.deepEqual(node('esm.mjs'), {
    same: true,
    selfDefault: true,
    length: 4096,
    wait: 'not-equal',
    illegal: 'ERR_ILLEGAL_CONSTRUCTOR',
    subclass: 'ERR_ILLEGAL_CONSTRUCTOR',
    code: 'ERR_OUT_OF_RANGE',
  })
  t.deepEqual(node('cjs.cjs'), {
    same: true,
    length: 4096,
    wait: 'timed-out',
    illegal: 'ERR_ILLEGAL_CONSTRUCTOR',
    code: 'ERR_INVALID_ARG_TYPE',
  })
})
