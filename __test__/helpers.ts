// Shared test helpers: temporary files, and child processes for anything that could kill one.

import test, { type ExecutionContext, type Implementation } from 'ava'
import { type ChildProcess, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { closeSync, ftruncateSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { getSystemErrorMap } from 'node:util'

/** The package root: what `require('memmap')` resolves to inside a child. */
export const root = resolve(__dirname, '..')

const made: string[] = []
process.on('exit', () => {
  for (const dir of made) {
    try {
      rmSync(dir, { recursive: true, force: true })
    } catch {
      // Windows refuses to delete a file that a live mapping (or a Buffer left to the GC) still
      // maps; the OS's temporary folder keeps it.
    }
  }
})

/** A fresh directory, removed when the process exits. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-test-'))
  made.push(dir)
  return dir
}

/** A file holding `contents` in a fresh directory. */
export function tempFile(contents: Uint8Array | string, name = 'data.bin'): string {
  const path = join(tempDir(), name)
  writeFileSync(path, contents)
  return path
}

/**
 * A sparse file of `size` bytes in a fresh directory: no page of it is resident until something
 * touches it, and nothing is stored but `marks`, each text written at its position. The path has
 * no symbolic link in it, so that it is the name /proc/self/smaps gives the mapped file.
 */
export function sparseFile(size: number, marks: Array<[number, string]> = []): string {
  const path = join(realpathSync(tempDir()), 'sparse.bin')
  const fd = openSync(path, 'w+')
  ftruncateSync(fd, size)
  for (const [position, text] of marks) writeSync(fd, text, position)
  closeSync(fd)
  return path
}

/** `n` bytes of a deterministic, non-repeating-looking pattern. */
export function pattern(n: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    bytes[i] = x & 0xff
  }
  return bytes
}

export interface ChildResult {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Limits and namespaces to start a child Node.js in, for tests that provoke what a small machine or
 * container does (POSIX only; the namespaces Linux and root only). With none, Node.js runs directly.
 */
export interface Confinement {
  /** Resource limits a shell sets with `ulimit` before it starts Node.js: `{ l: 1024 }` is `ulimit -l 1024`. */
  ulimit?: Partial<Record<'l' | 'v', number>>
  /** A fresh tmpfs of `size` (`mount -o size=`, e.g. `'256k'`) mounted over `at` in a private mount namespace (`unshare -m`). */
  tmpfs?: { at: string; size: string }
  /** A private PID namespace with its own /proc (`unshare --pid --fork --mount-proc`), where Node.js is pid 1. */
  pidNamespace?: boolean
}

/** A POSIX shell word that stands for `text` exactly. */
const shellWord = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`

/** The command that runs `node` with `args` under `confinement`: `[file, ...argv]`. */
function nodeCommand(node: string, args: string[], confinement: Confinement): [string, string[]] {
  let command = [node, ...args]
  const { ulimit = {}, tmpfs, pidNamespace = false } = confinement
  // The mount comes before the limits, so that a low `ulimit -v` cannot make mount(8) fail.
  const steps = [
    ...(tmpfs ? [`mount -t tmpfs -o size=${tmpfs.size} tmpfs ${shellWord(tmpfs.at)}`] : []),
    ...Object.entries(ulimit).map(([flag, value]) => `ulimit -${flag} ${value}`),
  ]
  // `exec`, so that the status and signal reported are Node's own, not the shell's.
  if (steps.length > 0) command = ['sh', '-c', `${steps.join(' && ')} && exec "$@"`, 'sh', ...command]
  const namespaces = [...(tmpfs ? ['-m'] : []), ...(pidNamespace ? ['--pid', '--fork', '--mount-proc'] : [])]
  if (namespaces.length > 0) command = ['unshare', ...namespaces, ...command]
  return [command[0], command.slice(1)]
}

/** The start of every child's source: `memmap`, bound to the package. */
const childPrelude = `const memmap = require(${JSON.stringify(root)});\n`

/**
 * Runs `source` (CommonJS, with `memmap` bound to the package) in a new Node.js process, under
 * `confinement` if given; `node` is another Node.js binary to run it with. Use it for anything
 * that could crash the process: the test then fails instead of the runner.
 */
export function runChild(
  source: string,
  options: { node?: string; args?: string[]; env?: NodeJS.ProcessEnv; timeout?: number; input?: string } & Confinement = {},
): ChildResult {
  const [file, argv] = nodeCommand(options.node ?? process.execPath, [...(options.args ?? []), '-e', childPrelude + source], options)
  const result: SpawnSyncReturns<string> = spawnSync(file, argv, {
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: options.timeout ?? 120_000,
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  })
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr }
}

/** How an asynchronous child (`spawnChild`) ended. */
export interface Exit {
  status: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * `runChild` without waiting: several can run at once and a test can kill one. `exit` settles
 * when the process has ended; a child that outlives `timeout` is killed. `detached` gives it a
 * process group of its own, so that `process.kill(-pid)` ends a confined Node.js with the
 * `unshare` or shell that started it.
 */
export function spawnChild(
  source: string,
  options: { env?: NodeJS.ProcessEnv; timeout?: number; detached?: boolean } & Confinement = {},
): { process: ChildProcess; exit: Promise<Exit> } {
  const [file, argv] = nodeCommand(process.execPath, ['-e', childPrelude + source], options)
  const child = spawn(file, argv, {
    env: { ...process.env, ...options.env },
    timeout: options.timeout ?? 120_000,
    detached: options.detached ?? false,
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk) => (stdout += chunk))
  child.stderr?.on('data', (chunk) => (stderr += chunk))
  const exit = new Promise<Exit>((resolveExit, reject) => {
    child.on('error', reject)
    child.on('close', (status, signal) => resolveExit({ status, signal, stdout, stderr }))
  })
  return { process: child, exit }
}

let sharedNames = 0
/** A shared memory name unique to this run, unlinked when the test ends. */
export function sharedName(t: ExecutionContext, unlink: (name: string) => unknown): string {
  const name = `mmjs-${process.pid}-${sharedNames++}`
  t.teardown(() => {
    unlink(name)
  })
  return name
}

/** Parses the last line a child printed as JSON. */
export function lastJson<T = unknown>(result: ChildResult): T {
  const lines = result.stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1]) as T
}

/** Open descriptors and mapping lines of this process (Linux only). */
export function procCounts(): { fds: number; maps: number } {
  return {
    fds: readdirSync('/proc/self/fd').length,
    maps: readFileSync('/proc/self/maps', 'utf8').split('\n').length,
  }
}

/**
 * The emulator this suite runs under: `'wine'` or `'qemu'`, set by `npm run test:cross`; `null`
 * on the real machine. Tests that an emulator cannot carry out skip under it, saying why.
 */
export const emulator = (process.env.MEMMAP_TEST_EMULATOR as 'wine' | 'qemu' | undefined) ?? null

export const windows = process.platform === 'win32'
export const linux = process.platform === 'linux'

/** The `errno` Node's `fs` reports for `code` on this platform (libuv's numbers differ on Windows). */
export function errno(code: string): number {
  for (const [number, [name]] of getSystemErrorMap()) if (name === code) return number
  throw new Error(`no errno is named ${code} here`)
}

/**
 * What qemu-user does differently from a kernel, measured with a C probe under qemu-aarch64 8.x:
 * it accepts MAP_POPULATE and madvise advice (MADV_POPULATE_READ included) and does nothing, so
 * mincore shows 0 of 64 populated pages; it reserves guest address space first, so a 64 GiB
 * MAP_SHARED file mapping fails ENOMEM; and it writes /proc/self/smaps itself, without the
 * kernel's VmFlags or counters.
 */
export const underQemu = emulator === 'qemu'
export const QEMU_RESIDENCY = 'qemu-user drops MAP_POPULATE and madvise advice, so residency is not what a kernel makes it'
export const QEMU_SMAPS = 'qemu-user writes /proc/self/smaps itself, without the kernel flags and counters'

/** `'gnu'` or `'musl'`: the C library this Node.js runs on (Linux), else null. */
export function linuxLibc(): 'gnu' | 'musl' | null {
  if (!linux) return null
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } }
  return report.header?.glibcVersionRuntime ? 'gnu' : 'musl'
}

/** napi-rs's name for this platform (`linux-x64-gnu`, `win32-x64-msvc`, ...): what a local build is called. */
export function nativeTarget(): string {
  const { platform, arch } = process
  if (platform === 'win32') return `${platform}-${arch}-msvc`
  if (platform !== 'linux') return `${platform}-${arch}`
  const libc = linuxLibc()
  return arch === 'arm' ? `linux-arm-${libc}eabihf` : `linux-${arch}-${libc}`
}

/**
 * The environment for an `npm` child that shares nothing with other npm processes: its own
 * cache and log directory (npm prunes old logs at start, and several suites run npm at once
 * under test:cross), no update check, audit or funding request. Its output then depends on the
 * command alone.
 */
export function npmAlone(): NodeJS.ProcessEnv {
  const dir = tempDir()
  return {
    ...process.env,
    npm_config_cache: join(dir, 'cache'),
    npm_config_logs_dir: join(dir, 'logs'),
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  }
}

/**
 * The paths, relative to the package root, of the files `npm pack` would put in the tarball
 * (without running the package's scripts); throws with npm's stderr if it fails.
 */
export function packedFiles(): string[] {
  const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    env: npmAlone(),
    shell: windows, // npm is npm.cmd there, which only a shell runs
  })
  if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`)
  const [{ files }] = JSON.parse(pack.stdout) as [{ files: { path: string }[] }]
  return files.map((file) => file.path)
}

/**
 * `test` where `applies`, else `test.skip` with `reason` in its title, so that the report says
 * why: `const linuxOnly = testIf(linux, 'reads Linux /proc/self/smaps')`, then
 * `linuxOnly('title', (t) => ...)`.
 */
export function testIf(applies: boolean, reason: string) {
  return (title: string, implementation: Implementation<[]>): void => {
    if (applies) test(title, implementation)
    else test.skip(`${title} (skipped: ${reason})`, implementation)
  }
}

// Small helpers for the synchronization specs (first used by sync-primitives.spec.ts).

/** The `code` of what `f` throws (or the error as a string), `undefined` if it returns. */
export function thrownCode(f: () => unknown): string | undefined {
  try {
    f()
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error)
  }
  return undefined
}

/**
 * What a call gave, as one comparable value: `'held:<ownerDied>'` (the Held is then unlocked),
 * `'permit'` (the Permit is then released), `null`, `'returned'` (undefined), any other value as
 * it is, or the code of what it threw.
 */
export function outcome(f: () => unknown): unknown {
  let value: unknown
  try {
    value = f()
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error)
  }
  if (value === null) return null
  if (value === undefined) return 'returned'
  if (typeof value === 'object' && 'ownerDied' in value) {
    const held = value as { ownerDied: boolean; unlock(): void }
    thrownCode(() => held.unlock())
    return `held:${held.ownerDied}`
  }
  if (typeof value === 'object' && 'release' in value) {
    thrownCode(() => (value as { release(): void }).release())
    return 'permit'
  }
  return value
}

/** Polls `check()` every 5 ms until it holds or `ms` have passed; whether it held. */
export async function pollUntil(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) return false
    await new Promise((resolveTimer) => setTimeout(resolveTimer, 5))
  }
  return true
}

/** `promise`'s value, or `late` if it has not settled within `ms` (it is left running). */
export async function settledWithin<T, L>(promise: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined
  const guard = new Promise<L>((resolveGuard) => {
    timer = setTimeout(() => resolveGuard(late), ms)
  })
  try {
    return await Promise.race([promise, guard])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves once `child` has printed `text` on stdout; rejects if it ends first or after `ms`. */
export function printedBy(child: ChildProcess, text: string, ms = 10_000): Promise<void> {
  return new Promise((resolvePrinted, reject) => {
    let seen = ''
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString()
      if (seen.includes(text)) done()
    }
    const onExit = (): void =>
      done(new Error(`the child ended before printing ${JSON.stringify(text)} (printed ${JSON.stringify(seen)})`))
    const timer = setTimeout(
      () => done(new Error(`the child did not print ${JSON.stringify(text)} within ${ms} ms (printed ${JSON.stringify(seen)})`)),
      ms,
    )
    function done(error?: Error): void {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.off('exit', onExit)
      if (error) reject(error)
      else resolvePrinted()
    }
    child.stdout?.on('data', onData)
    child.once('exit', onExit)
  })
}

/** How many times the event loop turned (setImmediate, which no timer resolution limits) until `promise` settled. */
export async function turnsWhile(promise: Promise<unknown>): Promise<number> {
  let turns = 0
  let turning = true
  const turn = (): void => {
    turns++
    if (turning) setImmediate(turn)
  }
  turn()
  try {
    await promise
  } finally {
    turning = false
  }
  return turns
}
