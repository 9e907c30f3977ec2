// @ts-check
'use strict'

// What the contract promises where the runtime refuses Buffers over memory V8 did not allocate
// (Electron's V8 memory cage): zeroCopy is false, `buffer` and `view()` throw
// ERR_MMAP_EXTERNAL_BUFFER_REFUSED pointing to read()/write(), and read()/write()/flush() work.
// electron/main.js runs it in Electron's main process (CI's electron job); under plain Node.js
// it passes only with MEMMAP_NO_EXTERNAL_BUFFERS=1 (__test__/packaging.spec.ts checks both ways).

const assert = require('node:assert/strict')
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')

/** @param {typeof import('..')} memmap */
function check(memmap) {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-electron-'))
  try {
    const path = join(dir, 'data.bin')
    const bytes = Buffer.from('memmap in a runtime that refuses external buffers')
    writeFileSync(path, bytes)
    const m = memmap.openSync(path, { mode: 'r+' })
    assert.equal(m.zeroCopy, false, 'zeroCopy')
    for (const [what, make] of /** @type {const} */ ([
      ['buffer', () => m.buffer],
      ['view()', () => m.view(0, 8)],
    ])) {
      assert.throws(make, (/** @type {any} */ error) => {
        assert.equal(error.code, 'ERR_MMAP_EXTERNAL_BUFFER_REFUSED', what)
        assert.match(error.message, /read\(\).*write\(\)/, what)
        return true
      })
    }
    const out = Buffer.alloc(bytes.length)
    assert.equal(m.read(out), bytes.length, 'read() count')
    assert.deepEqual(out, bytes, 'read() bytes')
    assert.equal(m.write(Buffer.from('MEMMAP'), 0), 6, 'write() count')
    m.flush()
    assert.equal(readFileSync(path, 'latin1').slice(0, 6), 'MEMMAP', 'write() reached the file')
    m.close()
    assert.equal(m.closed, true)
    return { zeroCopy: m.zeroCopy, refused: ['buffer', 'view()'], readWrite: true }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

module.exports = check

if (require.main === module) {
  console.log(JSON.stringify({ runtime: process.versions.electron ? 'electron' : 'node', ...check(require('..')) }))
}
