// Installs benchmark/'s own dependencies: the harness, and the npm peers as optional
// dependencies, so that a peer whose native build fails is left out instead of failing the
// install. mmap-io needs C++17 to build against Node.js 20's headers, hence CXXFLAGS.

import { spawnSync } from 'node:child_process'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const env = { ...process.env, CXXFLAGS: [process.env.CXXFLAGS, '-std=c++17'].filter(Boolean).join(' ') }
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
console.error('benchmark: installing the harness and the peers (a peer that fails to build is skipped)')
const result = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
  cwd: here,
  env,
  stdio: 'inherit',
  shell: process.platform === 'win32',
})
if (result.status !== 0) {
  console.error(`benchmark: npm install in ${here} failed (${result.error?.message ?? `exit ${result.status}`})`)
  process.exit(1)
}
