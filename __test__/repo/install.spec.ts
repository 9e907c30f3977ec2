// The zero-compile proof: publish as the workflow does (napi pre-publish writes the root's
// optionalDependencies), pack the root and this machine's platform package, and install both
// into a fresh project offline with nothing on PATH but node and npm. Then the package must
// load with require and import, type-check as a TypeScript dependency, and map a real file;
// and installed without its platform package it must fail with the clear error.

import test from 'ava'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { delimiter, dirname, join } from 'node:path'

import { emulator, nativeTarget, root, tempDir } from '../helpers.js'

// One npm or napi step; several times as long under an emulator, which runs npm's JavaScript too.
const STEP_LIMIT = emulator ? 600_000 : 120_000

const windows = process.platform === 'win32'
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  version: string
  files: string[]
  napi: { packageName: string }
}

/** This machine's target, and the binary `npm run build` (or CI's artifact) put in the root for it. */
const target = nativeTarget()
const build = existsSync(join(root, `memmap.${target}.node`)) ? `memmap.${target}.node` : undefined
/** Scoped, as napi-rs publishes it from napi.packageName: `@memmap-js/memmap-linux-x64-gnu`. */
const platformPackage = `${manifest.napi.packageName}-${target}`
/** Where npm installs it: node_modules/@memmap-js/memmap-<target>. */
const platformDir = (project: string): string => join(project, 'node_modules', ...platformPackage.split('/'))

/** npm's own entry script, run by the node on the restricted PATH. */
function npmCli(): string {
  const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => {
    try {
      return realpathSync(join(dir, 'npm')) // a symlink to npm-cli.js, except on Windows
    } catch {
      return undefined
    }
  })
  const candidates = [
    process.env.npm_execpath, // set by `npm test`
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    join(dirname(process.execPath), 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    ...onPath, // a Node.js without its own npm (CI's extra versions) runs the one on PATH
  ]
  const found = candidates.find((path) => path?.endsWith('npm-cli.js') && existsSync(path))
  if (found === undefined) throw new Error(`npm-cli.js not found near ${process.execPath}`)
  return found
}

const work = tempDir()
const bin = join(work, 'bin')
const env: NodeJS.ProcessEnv = {
  // Nothing else: no cargo, rustc, cc, make or python3 can be found, not even sh, so any
  // lifecycle script of an installed package (install, postinstall, prepare) would fail the install.
  PATH: bin,
  HOME: join(work, 'home'),
  USERPROFILE: join(work, 'home'),
  TMPDIR: join(work, 'tmp'),
  TEMP: join(work, 'tmp'),
  TMP: join(work, 'tmp'),
  ...(windows
    ? {
        SystemRoot: process.env.SystemRoot,
        ComSpec: process.env.ComSpec,
        APPDATA: join(work, 'home'),
        LOCALAPPDATA: join(work, 'home'),
      }
    : {}),
  npm_config_cache: join(work, 'npm-cache'), // empty: nothing cached from earlier runs
  npm_config_registry: 'http://127.0.0.1:9/', // nothing listens there: a registry request fails at once
  npm_config_update_notifier: 'false',
  // Where npm run test:cross runs a Node.js that is not the system's (under qemu-user, or a musl
  // build on a glibc machine), its children need the same library paths to start at all.
  ...Object.fromEntries(['QEMU_LD_PREFIX', 'LD_LIBRARY_PATH'].filter((key) => process.env[key]).map((key) => [key, process.env[key]])),
}

/** Runs `node` or `npm` from the restricted PATH, in `cwd`. */
function run(command: 'node' | 'npm', args: string[], cwd: string): SpawnSyncReturns<string> {
  const [file, argv] =
    command === 'node'
      ? [join(bin, windows ? 'node.exe' : 'node'), args]
      : windows
        ? [join(bin, 'node.exe'), [npmCli(), ...args]]
        : [join(bin, 'npm'), args] // the symlink to npm-cli.js, whose `#!/usr/bin/env node` finds bin/node
  return spawnSync(file, argv, { cwd, env, encoding: 'utf8', timeout: STEP_LIMIT })
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  if (result.status !== 0) {
    throw new Error(`${what} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

const stage = join(work, 'stage')
const installed = join(work, 'installed')
const omitted = join(work, 'omitted')
let installOutput = ''
let prePublished: { optionalDependencies?: Record<string, string> } = {}
let publishCheck: SpawnSyncReturns<string> | undefined
let platformTarball = ''

test.before(() => {
  if (build === undefined) throw new Error(`no memmap.<target>.node in ${root}: run npm run build first`)
  for (const dir of [bin, stage, env.HOME!, env.TMPDIR!, installed, omitted]) mkdirSync(dir, { recursive: true })
  if (windows) {
    try {
      linkSync(process.execPath, join(bin, 'node.exe'))
    } catch {
      copyFileSync(process.execPath, join(bin, 'node.exe'))
    }
  } else {
    symlinkSync(process.execPath, join(bin, 'node'))
    symlinkSync(npmCli(), join(bin, 'npm'))
  }

  // What the publish job has: the built facade and the npm/ directories, one binary in each. The
  // other targets' binaries are stand-ins (pre-publish checks every target has one); only this
  // machine's real one is packed.
  for (const file of [...manifest.files, 'package.json']) {
    // Entries are paths, or `dir/*.ext` globs (the facade's src/ outputs).
    const glob = /^(.+)\/\*(\.[a-z.]+)$/.exec(file)
    if (glob) {
      mkdirSync(join(stage, glob[1]), { recursive: true })
      for (const name of readdirSync(join(root, glob[1])).filter((n) => n.endsWith(glob[2]))) {
        copyFileSync(join(root, glob[1], name), join(stage, glob[1], name))
      }
    } else if (existsSync(join(root, file))) copyFileSync(join(root, file), join(stage, file))
  }
  cpSync(join(root, 'npm'), join(stage, 'npm'), { recursive: true })
  for (const dir of readdirSync(join(stage, 'npm'))) {
    writeFileSync(join(stage, 'npm', dir, `memmap.${dir}.node`), 'a stand-in: this test packs only its own target\n')
  }
  copyFileSync(join(root, build), join(stage, 'npm', target, build))

  // The publish job's `napi pre-publish`, without publishing: it writes optionalDependencies.
  ok(
    spawnSync(
      process.execPath,
      [
        join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js'),
        'pre-publish',
        '-t',
        'npm',
        '--skip-optional-publish',
        '--no-gh-release',
      ],
      { cwd: stage, encoding: 'utf8', timeout: STEP_LIMIT },
    ),
    'napi pre-publish',
  )
  prePublished = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8')) as typeof prePublished
  // The publish job's next step: what napi wrote must pass the check that guards `npm publish`.
  publishCheck = spawnSync(process.execPath, [join(root, 'scripts', 'check-publish.mjs'), stage], {
    encoding: 'utf8',
    timeout: STEP_LIMIT,
  })

  // --ignore-scripts: packing must not run `prepare` (it would compile); with this PATH it could not.
  // npm names a scoped package's tarball without the `@` and with `-` for the `/`: --json says which.
  const pack = (dir: string, what: string): string => {
    const [{ filename }] = JSON.parse(ok(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], dir), what)) as [
      { filename: string },
    ]
    return join(work, filename)
  }
  const rootTarball = pack(stage, 'npm pack (root)')
  platformTarball = pack(join(stage, 'npm', target), 'npm pack (platform)')

  const flags = ['install', '--offline', '--no-audit', '--no-fund']
  for (const project of [installed, omitted]) {
    writeFileSync(join(project, 'package.json'), '{ "name": "consumer", "version": "1.0.0", "private": true }\n')
  }
  installOutput = ok(run('npm', [...flags, rootTarball, platformTarball], installed), 'npm install')
  ok(run('npm', [...flags, '--omit=optional', rootTarball], omitted), 'npm install --omit=optional')
})

test("napi pre-publish lists every scoped platform package in the root's optionalDependencies at the exact version", (t) => {
  const deps = prePublished.optionalDependencies ?? {}
  t.deepEqual(
    Object.keys(deps).toSorted(),
    readdirSync(join(root, 'npm'))
      .map((dir) => `@memmap-js/memmap-${dir}`)
      .toSorted(),
  )
  for (const [name, version] of Object.entries(deps)) t.is(version, manifest.version, name)
  t.true(deps[platformPackage] !== undefined, platformPackage)
})

test('what napi pre-publish wrote passes scripts/check-publish.mjs, as the publish job requires', (t) => {
  t.is(publishCheck?.status, 0, `${publishCheck?.stdout}${publishCheck?.stderr}`)
})

test('npm installs both tarballs offline with only node and npm on PATH, and builds nothing', (t) => {
  t.deepEqual(readdirSync(bin).toSorted(), windows ? ['node.exe'] : ['node', 'npm'])
  t.regex(installOutput, /added 2 packages/)
  const memmap = join(installed, 'node_modules', manifest.name)
  // Exactly what was published: no binary, no build output appeared in the root package.
  t.false(readdirSync(memmap).some((name) => name.endsWith('.node') || name === 'target'))
  // The scoped package, from its own tarball, in node_modules/@memmap-js/.
  t.regex(platformTarball, /memmap-js-memmap-[\w-]+-\d[^/\\]*\.tgz$/)
  t.deepEqual(readdirSync(join(installed, 'node_modules', '@memmap-js')), [platformPackage.split('/')[1]])
  const installedManifest = JSON.parse(readFileSync(join(platformDir(installed), 'package.json'), 'utf8')) as { name: string; version: string }
  t.like(installedManifest, { name: platformPackage, version: manifest.version })
  t.deepEqual(readdirSync(platformDir(installed)).toSorted(), [build!, 'README.md', 'package.json'].toSorted())
})

/** Runs `source` with node in the installed project and parses the JSON it prints last. */
function inProject<T>(source: string, args: string[] = ['-e'], project = installed): T {
  const out = ok(run('node', [...args, source], project), 'node')
  return JSON.parse(out.trim().split('\n').pop()!) as T
}

const MAP_ONE_FILE = `
  const fs = require('node:fs'), path = require('node:path'), os = require('node:os')
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-')), 'data.bin')
  const bytes = Buffer.from(Array.from({ length: 10000 }, (_, i) => (i * 7919) & 0xff))
  fs.writeFileSync(file, bytes)
  const m = memmap.openSync(file, { mode: 'r+' })
  const copy = Buffer.alloc(bytes.length)
  const read = m.read(copy)
  const same = m.buffer.equals(bytes) && copy.equals(bytes)
  m.buffer[0] = 42
  m.flush()
  m.close()
  const binary = Object.keys(require.cache).find((p) => p.endsWith('.node'))
  console.log(JSON.stringify({ read, same, written: fs.readFileSync(file)[0], binary, closed: m.closed }))
`

test('require() loads the platform package and maps a real file, read back both ways', (t) => {
  const result = inProject<{ read: number; same: boolean; written: number; binary: string; closed: boolean }>(
    `const memmap = require('memmap')\n${MAP_ONE_FILE}`,
  )
  t.like(result, { read: 10000, same: true, written: 42, closed: true })
  // The binary that got loaded is the one in node_modules/@memmap-js/memmap-<target>, nothing else.
  t.is(realpathSync(result.binary), realpathSync(join(platformDir(installed), build!)))
})

test('ESM import gives the same names as require()', (t) => {
  const result = inProject<{ esm: string[]; cjs: string[]; same: boolean }>(
    `import * as esm from 'memmap'
     import { createRequire } from 'node:module'
     const cjs = createRequire(import.meta.url)('memmap')
     console.log(JSON.stringify({ esm: Object.keys(esm).toSorted(), cjs: Object.keys(cjs).toSorted(), same: esm.openSync === cjs.openSync }))`,
    ['--input-type=module', '-e'],
  )
  t.deepEqual(result.esm, result.cjs)
  t.true(result.esm.includes('openSync'))
  t.true(result.same)
})

test('a TypeScript consumer type-checks against the shipped index.d.ts', (t) => {
  const consumer = `
    import { openSync, open, pageSize, type Mapping, type OpenOptions } from 'memmap'
    const options: OpenOptions = { mode: 'r', offset: 0n, populate: true }
    const m: Mapping = openSync(new URL('file:///etc/hostname'), options)
    const first: number | undefined = m.buffer[0]
    const pages: number = Math.ceil(m.length / pageSize)
    m.close()
    export const later: Promise<Mapping> = open('data.bin')
    // The types are real, not any: each of these must be an error.
    // @ts-expect-error a boolean is neither a path nor a descriptor (a number is a descriptor now)
    openSync(true)
    // @ts-expect-error 'a' is not a mode
    openSync('data.bin', { mode: 'a' })
    // @ts-expect-error kind is read-only
    m.kind = 'file'
    export { first, pages }
  `
  writeFileSync(join(installed, 'consumer.ts'), consumer)
  writeFileSync(join(installed, 'consumer.mts'), consumer.replace("export const later", 'export const later2'))
  writeFileSync(
    join(installed, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        skipLibCheck: false,
        typeRoots: [join(root, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['consumer.ts', 'consumer.mts'],
    }),
  )
  const tsc = run('node', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], installed)
  t.is(tsc.status, 0, tsc.stdout + tsc.stderr)
})

test('installed without its platform package, memmap fails with the clear error and the cause', (t) => {
  t.false(existsSync(platformDir(omitted)))
  const error = inProject<{ code: string; message: string; packageName: string; cause: string }>(
    `try { require('memmap'); console.log('{}') } catch (e) {
       console.log(JSON.stringify({ code: e.code, message: e.message, packageName: e.packageName, cause: e.cause && e.cause.code }))
     }`,
    ['-e'],
    omitted,
  )
  t.is(error.code, 'ERR_MMAP_NO_BINDING')
  t.is(error.packageName, platformPackage)
  t.is(error.cause, 'MODULE_NOT_FOUND')
  t.true(error.message.includes(`${process.platform} ${process.arch}`), error.message)
  t.true(error.message.includes(`${platformPackage} is not installed`), error.message)
  t.true(error.message.includes('--omit=optional'), error.message)
  t.true(error.message.includes('npm run build'), error.message)
})
