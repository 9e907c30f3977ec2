// 8. Workload 7 where zero-copy Buffers are refused (Electron's memory cage): every call goes
// through the binding. Set before memmap loads: workload.mjs imports this module first.

import { callSubjects } from './7-calls.mjs'

process.env.MEMMAP_NO_EXTERNAL_BUFFERS = '1'

export default {
  id: 8,
  title: '1,000,000 small calls where zero-copy Buffers are refused',
  what: 'Workload 7 with MEMMAP_NO_EXTERNAL_BUFFERS=1, as in Electron: every call goes through the binding.',
  baseline: 'Buffer#copy of 8 bytes (in-heap)',
  subjects: ({ memmap }) => {
    if (memmap.openSync && memmap.anonymous(1).zeroCopy) throw new Error('MEMMAP_NO_EXTERNAL_BUFFERS did not reach memmap')
    return callSubjects(memmap, ', refused-Buffer mode')
  },
}
