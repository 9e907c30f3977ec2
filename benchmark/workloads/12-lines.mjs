// 12. Every line of a 1 GiB text file of ~100-byte lines (every 20th CRLF): what a user writes
// to read a log or a CSV. Against readline over fs.createReadStream (Node's way), and against the
// loop a user writes by hand over the same mapping (Buffer#indexOf + subarray).

import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

/** A checksum of what was read: the number of records and their total length. */
const tally = () => ({ records: 0, bytes: 0 })

export default {
  id: 12,
  title: 'lines: every record of a 1 GiB file of ~100-byte lines',
  what:
    'Each subject visits every line (its length is summed, so the record is made). readline reads ' +
    'the file through fs.createReadStream; the hand-written loop runs buffer.indexOf(10, pos) + ' +
    'subarray over the mapping (CR kept); lines() finds the separators in the core a batch at a time ' +
    'and yields views, or strings with encoding.',
  baseline: 'readline over fs.createReadStream',

  subjects({ memmap, lines }) {
    let mapping
    const mapped = (name, run, note) => ({
      name,
      group: 'memmap',
      note,
      iterations: 5,
      setup() {
        mapping = memmap.openSync(lines)
      },
      run: () => run(mapping),
      teardown: () => mapping.close(),
    })
    return [
      {
        name: 'readline over fs.createReadStream',
        group: 'fs',
        iterations: 3,
        async: true,
        async run() {
          const t = tally()
          for await (const line of createInterface({ input: createReadStream(lines), crlfDelay: Infinity })) {
            t.records++
            t.bytes += line.length
          }
          return t.records
        },
      },
      mapped('hand-written loop: buffer.indexOf(10) + subarray', (m) => {
        const t = tally()
        const buffer = m.buffer
        let pos = 0
        for (;;) {
          const end = buffer.indexOf(10, pos)
          if (end === -1) break
          const line = buffer.subarray(pos, end)
          t.records++
          t.bytes += line.length
          pos = end + 1
        }
        if (pos < buffer.length) t.records++
        return t.records
      }, 'over the same mapping, mapped before timing'),
      mapped('memmap lines(), views', (m) => {
        const t = tally()
        for (const line of m.lines()) {
          t.records++
          t.bytes += line.length
        }
        return t.records
      }),
      mapped("memmap lines({ encoding: 'utf8' }), strings", (m) => {
        const t = tally()
        for (const line of m.lines({ encoding: 'utf8' })) {
          t.records++
          t.bytes += line.length
        }
        return t.records
      }),
    ]
  },
}
