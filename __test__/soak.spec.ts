// Soak: mappings that are never closed are released by the garbage collector, and a program that
// outruns the collector gets a coded error instead of a dead process.


import { errno, lastJson, linux, pattern, runChild, tempFile, testIf } from './helpers.js'

// Both count descriptors and map regions in Linux's /proc, and the cap is Linux's vm.max_map_count
// (other systems have no such per-process limit on map regions).
const linuxOnly = testIf(linux, 'counts descriptors and map regions in Linux /proc; the cap is vm.max_map_count')

const counts = `
  const fs = require('fs');
  const counts = () => ({
    fds: fs.readdirSync('/proc/self/fd').length,
    maps: fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').length,
    file: fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('memmap-test-')).length,
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  });
  const settle = async () => { for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)) } };
`

linuxOnly('100,000 opens released only by GC: descriptors and map regions back to their start, RSS bounded', (t) => {
  const path = tempFile(pattern(64 * 1024))
  const child = runChild(
    `${counts}
    (async () => {
      memmap.openSync(${JSON.stringify(path)}).buffer; await settle();
      const start = counts();
      let peakMaps = 0, sum = 0;
      for (let batch = 0; batch < 100; batch++) {
        for (let i = 0; i < 1000; i++) sum += memmap.openSync(${JSON.stringify(path)}).buffer[i];
        if (batch % 10 === 0) peakMaps = Math.max(peakMaps, counts().maps);
        await new Promise((r) => setImmediate(r)); // finalizers run between tasks
      }
      await settle();
      console.log(JSON.stringify({ start, end: counts(), peakMaps, sum }));
    })();`,
    { args: ['--expose-gc'] },
  )
  t.is(child.status, 0, child.stderr)
  const r = lastJson<{ start: Record<string, number>; end: Record<string, number>; peakMaps: number }>(child)
  t.is(r.end.fds, r.start.fds)
  t.is(r.end.file, 0, 'no mapping of the file is left')
  // What remains is V8's own: its heap grows by 256 KiB pages (about 25 to 120 more lines on
  // Node.js 24, by the allocation pattern); a leak of these mappings would be 100,000 lines.
  t.true(r.end.maps - r.start.maps < 500, `maps ${r.start.maps} -> ${r.end.maps}`)
  t.true(r.end.rssMiB - r.start.rssMiB < 200, `rss ${r.start.rssMiB} -> ${r.end.rssMiB} MiB`)
})

linuxOnly('a synchronous loop that never closes gets ENOMEM before the process runs out of map regions', (t) => {
  const path = tempFile(pattern(4096))
  const child = runChild(
    `${counts}
    (async () => {
      const start = counts();
      let opened = 0, error;
      try { for (; opened < 100000; opened++) memmap.openSync(${JSON.stringify(path)}).buffer[0] }
      catch (e) { error = { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, hint: /close\\(\\)/.test(e.message) } }
      const limit = Number(require('fs').readFileSync('/proc/sys/vm/max_map_count', 'utf8')) >> 1;
      await settle();
      // Once collected, opening works again.
      const again = memmap.openSync(${JSON.stringify(path)}); again.close();
      console.log(JSON.stringify({ opened, limit, error, back: counts().file === 0 && counts().maps - start.maps < 500 }));
    })();`,
    { args: ['--expose-gc'] },
  )
  t.is(child.signal, null, child.stderr)
  t.is(child.status, 0, child.stderr)
  const r = lastJson<{ opened: number; limit: number; error: object; back: boolean }>(child)
  t.is(r.opened, r.limit)
  t.deepEqual(r.error, { code: 'ENOMEM', errno: errno('ENOMEM'), syscall: 'mmap', path, hint: true })
  t.true(r.back)
})
