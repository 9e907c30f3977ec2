// The first calls in a fresh process: `node first-call-child.mjs <path>`. Prints microseconds for
// the first memmap view() and read() after the first openSync(), and for the first fs.readSync().

import { closeSync, openSync, readSync } from 'node:fs'

import { loadMemmap } from './subjects.mjs'

const [path] = process.argv.slice(2)
const memmap = loadMemmap()
const us = (start) => Number(process.hrtime.bigint() - start) / 1e3
const one = Buffer.alloc(1)

const m = memmap.openSync(path)
let start = process.hrtime.bigint()
m.view(0, 1)
const view = us(start)
start = process.hrtime.bigint()
m.read(one, 1)
const read = us(start)
m.close()

const fd = openSync(path, 'r')
start = process.hrtime.bigint()
readSync(fd, one, 0, 1, 0)
const fsRead = us(start)
closeSync(fd)
console.log(JSON.stringify({ view, read, fsRead }))
