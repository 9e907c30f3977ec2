// @ts-check
'use strict'

// Finds and loads memmap's native binding. Plain CommonJS so that it needs no build step and
// its exports are exactly the binding's: `loader.d.ts` re-exports the types napi generated in
// `binding.d.ts`, so a new #[napi] function reaches index.ts without touching this file.
//
// Order: NAPI_RS_NATIVE_LIBRARY_PATH (a path, nothing else tried), then a local build next to
// this file (`memmap.<target>.node`, as `npm run build` writes it), then the platform package
// `@memmap-js/memmap-<target>` that npm installed as an optional dependency (the name is
// napi.packageName plus the target, as napi-rs's CLI publishes it). When nothing loads: one Error
// naming what was detected, what was looked for, and how to fix it, with the load error as cause.

const { closeSync, existsSync, openSync, readFileSync, readSync } = require('node:fs')
const { join, resolve } = require('node:path')

/**
 * @type {{ name: string, version: string, repository: { url: string },
 *   napi: { binaryName?: string, packageName?: string, targets: string[] } }}
 */
const manifest = require('./package.json')
const binaryName = manifest.napi.binaryName ?? manifest.name
/** The platform packages' common prefix: `@memmap-js/memmap`, so `@memmap-js/memmap-linux-x64-gnu`. */
const packagePrefix = manifest.napi.packageName ?? manifest.name

/**
 * The dynamic loader a Linux ELF executable asks for (its PT_INTERP), or null. It says which libc
 * this very process runs on: `/lib/ld-musl-x86_64.so.1` or `/lib64/ld-linux-x86-64.so.2`.
 * @param {string} file
 * @returns {string | null}
 */
function elfInterpreter(file) {
  let fd
  try {
    fd = openSync(file, 'r')
    const header = Buffer.alloc(64)
    if (readSync(fd, header, 0, 64, 0) < 52 || header.readUInt32BE(0) !== 0x7f454c46) return null
    const wide = header[4] === 2 // ELFCLASS64
    const little = header[5] === 1 // ELFDATA2LSB
    /** @type {(b: Buffer, at: number) => number} */
    const u16 = (b, at) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at))
    /** @type {(b: Buffer, at: number) => number} */
    const u32 = (b, at) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at))
    /** @type {(b: Buffer, at: number) => number} */
    const word = (b, at) => (wide ? Number(little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)) : u32(b, at))
    const phoff = word(header, wide ? 32 : 28)
    const phentsize = u16(header, wide ? 54 : 42)
    const phnum = u16(header, wide ? 56 : 44)
    if (phentsize < (wide ? 56 : 32) || phnum === 0 || phnum > 256) return null
    const table = Buffer.alloc(phentsize * phnum)
    if (readSync(fd, table, 0, table.length, phoff) !== table.length) return null
    for (let at = 0; at < table.length; at += phentsize) {
      if (u32(table, at) !== 3) continue // PT_INTERP
      const offset = word(table, at + (wide ? 8 : 4))
      const size = Math.min(word(table, at + (wide ? 32 : 16)), 4096)
      const name = Buffer.alloc(size)
      const read = readSync(fd, name, 0, size, offset)
      return name.subarray(0, read).toString('latin1').replace(/\0.*$/s, '')
    }
    return null // statically linked
  } catch {
    return null
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * `'glibc'` or `'musl'` on Linux, null elsewhere. Spawns no process: first the ELF interpreter of
 * this Node.js (a couple of small reads), then the text of /usr/bin/ldd (a script on both libcs),
 * and only then the diagnostic report's glibc version, which is slower (it walks every handle).
 * @returns {'glibc' | 'musl' | null}
 */
function detectLibc() {
  if (process.platform !== 'linux') return null
  const interpreter = elfInterpreter(process.execPath)
  if (interpreter?.includes('ld-musl-')) return 'musl'
  if (interpreter?.includes('ld-linux')) return 'glibc'
  try {
    const ldd = readFileSync('/usr/bin/ldd', 'latin1')
    if (ldd.includes('musl')) return 'musl'
    if (ldd.includes('GNU C Library') || ldd.includes('glibc')) return 'glibc'
  } catch {
    // No ldd (a distroless image): ask the report.
  }
  const report = /** @type {{ excludeNetwork?: boolean, getReport?: () => object }} */ (process.report ?? {})
  if (typeof report.getReport !== 'function') return 'glibc'
  const excludeNetwork = report.excludeNetwork
  try {
    report.excludeNetwork = true
    const { header } = /** @type {{ header?: { glibcVersionRuntime?: string } }} */ (report.getReport())
    return header?.glibcVersionRuntime ? 'glibc' : 'musl'
  } catch {
    return 'glibc'
  } finally {
    report.excludeNetwork = excludeNetwork
  }
}

/**
 * napi-rs's name for a platform: `linux-x64-gnu`, `win32-arm64-msvc`, `darwin-arm64`, ...
 * @param {string} platform
 * @param {string} arch
 * @param {'glibc' | 'musl' | null} libc
 */
function targetName(platform, arch, libc) {
  if (platform === 'linux') {
    const abi = libc === 'musl' ? 'musl' : 'gnu'
    return `linux-${arch}-${arch === 'arm' ? `${abi}eabihf` : abi}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  if (platform === 'android' && arch === 'arm') return 'android-arm-eabi'
  return `${platform}-${arch}`
}

/**
 * napi-rs's name for a Rust target triple, as `napi build --platform` and `napi pre-publish` use it:
 * `x86_64-unknown-linux-gnu` is `linux-x64-gnu`.
 * @param {string} triple
 */
function tripleName(triple) {
  const [cpu, ...rest] = triple.split('-')
  const system = rest.join('-')
  const arch = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' }[cpu] ?? cpu
  if (system.endsWith('-darwin')) return targetName('darwin', arch, null)
  if (system.endsWith('-windows-msvc')) return targetName('win32', arch, null)
  if (system.endsWith('-freebsd')) return targetName('freebsd', arch, null)
  if (system.startsWith('linux-android')) return targetName('android', arch, null)
  return targetName('linux', arch, system.includes('musl') ? 'musl' : 'glibc')
}

/** The platform packages this version ships (the root's optionalDependencies once published). */
const supported = manifest.napi.targets.map(tripleName)

/**
 * @param {unknown} error
 * @returns {string}
 */
function firstLine(error) {
  return String(error instanceof Error ? error.message : error).split('\n')[0]
}

function load() {
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  if (override) {
    const path = resolve(override)
    try {
      return require(path)
    } catch (cause) {
      throw Object.assign(
        new Error(
          `memmap could not load the native binding that NAPI_RS_NATIVE_LIBRARY_PATH names (${path}): ` +
            `${firstLine(cause)}. Unset the variable to use the prebuilt one.`,
          { cause },
        ),
        { code: 'ERR_MMAP_NO_BINDING', path },
      )
    }
  }

  const libc = detectLibc()
  const target = targetName(process.platform, process.arch, libc)
  const packageName = `${packagePrefix}-${target}`
  const errors = []

  const local = join(__dirname, `${binaryName}.${target}.node`)
  if (existsSync(local)) {
    try {
      return require(local)
    } catch (error) {
      errors.push(error)
    }
  }

  let installed = false
  try {
    const { version } = require(`${packageName}/package.json`)
    installed = true
    if (version !== manifest.version) {
      throw new Error(`${packageName}@${version} is installed, but ${manifest.name} is ${manifest.version}`)
    }
    return require(packageName)
  } catch (error) {
    errors.push(error)
  }

  const where = `${process.platform} ${process.arch}${libc ? ` (${libc})` : ''}`
  const fromSource =
    'build it from source with Rust (https://rustup.rs): in a clone of ' +
    `${manifest.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}, ` +
    `\`npm ci --ignore-scripts && npm run build\` writes ${binaryName}.${target}.node; ` +
    'point NAPI_RS_NATIVE_LIBRARY_PATH at it'
  let message
  if (!supported.includes(target)) {
    message =
      `memmap has no prebuilt binary for ${where}: there is no package ${packageName}.\n` +
      `Supported targets: ${supported.join(', ')}.\n` +
      `To use memmap here, ${fromSource}.`
  } else {
    const what = installed
      ? `${packageName} is installed but did not load: ${firstLine(errors[errors.length - 1])}`
      : `the optional dependency ${packageName} is not installed`
    message =
      `memmap could not load its native binding for ${where}: ${what}.\n` +
      `Supported targets: ${supported.join(', ')}.\n` +
      'To fix it, either:\n' +
      '  - reinstall without --omit=optional (or --no-optional), so that npm installs the optional ' +
      `dependency ${packageName}; if the lockfile was made on another platform, delete ` +
      'node_modules and package-lock.json first; or\n' +
      `  - ${fromSource}.`
  }
  const cause = errors.length === 1 ? errors[0] : new AggregateError(errors, 'every candidate failed to load')
  throw Object.assign(new Error(message, { cause }), {
    code: 'ERR_MMAP_NO_BINDING',
    platform: process.platform,
    arch: process.arch,
    libc,
    packageName,
  })
}

module.exports = load()
