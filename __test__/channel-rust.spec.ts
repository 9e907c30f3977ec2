// The channel's layout is a specification (docs/channels.md): the Rust core's own Channel type
// takes part in a channel with Node.js. The example `channel-echo` upper-cases what it receives.

import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'

import { createShared, unlinkShared } from '../index.js'
import { emulator, linuxLibc, root, sharedName, testIf } from './helpers.js'

const exe = join(root, 'target', 'debug', 'examples', process.platform === 'win32' ? 'channel-echo.exe' : 'channel-echo')

testIf(
  emulator === null && linuxLibc() !== 'musl',
  'cargo builds the example for the host (glibc), not for the emulated or musl target this run tests',
)(
  'a Rust program (cargo run --example channel-echo) and Node.js exchange 2,000 messages of every size, then end',
  async (t) => {
    t.timeout(300_000)
    execFileSync('cargo', ['build', '--quiet', '-p', 'memmap-core', '--example', 'channel-echo'], { cwd: root, stdio: 'inherit' })
    const name = sharedName(t, unlinkShared)
    const length = 16_384
    const m = createShared(name, 2 * length + 64)
    const requests = m.channel(0, length)
    const replies = m.channel(length, length)
    const child = spawn(exe, [name, String(length)])
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    for (let i = 0; i < 2000; i++) {
      // Sizes 0 .. maxMessage: records wrap the ring's end on both sides.
      const size = (i * 7919) % (requests.maxMessage + 1)
      const message = Buffer.alloc(size, 'abcdefgh'.charCodeAt(i % 8))
      await requests.sendAsync(message, 10_000)
      const reply = await replies.receiveAsync(10_000)
      if (!reply.equals(Buffer.from(message.toString('latin1').toUpperCase(), 'latin1'))) {
        t.fail(`message ${i} of ${size} bytes came back as ${reply.length} bytes`)
        break
      }
    }
    requests.end()
    await t.throwsAsync(replies.receiveAsync(10_000), { code: 'ERR_MMAP_CHANNEL_ENDED' })
    t.is(await exited, 0, output)
    t.is(output.trim(), 'echoed 2000 messages')
    m.close()
  },
)
