#!/usr/bin/env node
// @ts-check
// Refuses to publish a root package that would load nowhere.
//
//   node scripts/check-publish.mjs [package-dir]      (default: the current directory)
//
// The root `memmap` package holds no binary: npm installs the one for the machine from the
// optionalDependencies that `napi pre-publish` writes into package.json just before publishing.
// A publish that skips that step ships a package with no optionalDependencies, and every install
// of it fails with ERR_MMAP_NO_BINDING. This check runs in the workflow's publish job between
// `napi pre-publish` and `npm publish`, and as the `prepublishOnly` script, so that a manual
// `npm publish` refuses too. It passes only when:
//
// - napi.packageName puts the platform packages under the project's npm scope (@memmap-js);
// - optionalDependencies name exactly the platform packages of napi.targets, each at exactly
//   the root's version (no range, no extra or missing name);
// - each npm/<target>/ package has that name and version, and holds its binary;
// - every entry of the root's `files` exists (npm pack would silently leave a missing one out).
//
// Exit status 0 when publishable; 1 with every problem found, and what to run, on stderr.

import { parseTriple } from '@napi-rs/cli'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** The npm scope the project owns: nobody else can publish a name under it. */
const SCOPE = '@memmap-js'

const PRE_PUBLISH = 'npx napi pre-publish -t npm --no-gh-release'
const ARTIFACTS = 'npx napi artifacts --output-dir artifacts --npm-dir npm'

/**
 * @param {string} dir the root package's directory
 * @returns {string[]} the problems found, each saying how to fix it; empty when publishable
 */
function checkPublish(dir) {
  const problems = []
  /** @type {{ name: string, version: string, files?: string[], optionalDependencies?: Record<string, string>,
   *   napi?: { binaryName?: string, packageName?: string, targets?: string[] } }} */
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const { version, napi = {} } = manifest
  const prefix = napi.packageName ?? manifest.name
  const binaryName = napi.binaryName ?? 'index'
  const targets = (napi.targets ?? []).map((triple) => parseTriple(triple))

  if (!prefix.startsWith(`${SCOPE}/`)) {
    problems.push(
      `napi.packageName is ${JSON.stringify(napi.packageName)}: the platform packages must be published under ` +
        `${SCOPE}/, which the project owns (set "packageName": "${SCOPE}/${manifest.name}" in package.json's napi config).`,
    )
  }
  if (targets.length === 0) problems.push('package.json has no napi.targets: there would be no platform package to depend on.')

  const expected = new Map(targets.map((target) => [`${prefix}-${target.platformArchABI}`, target]))
  const declared = manifest.optionalDependencies ?? {}
  if (Object.keys(declared).length === 0) {
    problems.push(
      `package.json has no optionalDependencies, so an install of ${manifest.name}@${version} would get no native binary. ` +
        `Run \`${PRE_PUBLISH}\` first: it publishes the ${expected.size} platform packages from npm/ and writes them ` +
        'into optionalDependencies at this version.',
    )
  } else {
    const missing = [...expected.keys()].filter((name) => !(name in declared))
    const extra = Object.keys(declared).filter((name) => !expected.has(name))
    const wrong = Object.entries(declared).filter(([name, range]) => expected.has(name) && range !== version)
    if (missing.length > 0) problems.push(`optionalDependencies lack ${missing.join(', ')}.`)
    if (extra.length > 0) problems.push(`optionalDependencies name packages that are no target of napi.targets: ${extra.join(', ')}.`)
    for (const [name, range] of wrong) problems.push(`optionalDependencies want ${name}@${range}, not exactly ${version}.`)
    if (missing.length + extra.length + wrong.length > 0) {
      problems.push(`Run \`${PRE_PUBLISH}\` again: it rewrites optionalDependencies from napi.targets at the root version.`)
    }
  }

  const noBinary = []
  for (const [name, target] of expected) {
    const packageDir = join(dir, 'npm', target.platformArchABI)
    const where = `npm/${target.platformArchABI}`
    if (!existsSync(join(packageDir, 'package.json'))) {
      problems.push(`${where}/package.json is missing (\`npx napi create-npm-dirs\` makes it).`)
      continue
    }
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'))
    if (pkg.name !== name) problems.push(`${where}/package.json is named ${pkg.name}, not ${name}.`)
    if (pkg.version !== version) {
      problems.push(`${where}/package.json is at ${pkg.version}, not ${version} (\`npx napi version\` sets every npm/ package to the root version).`)
    }
    const binary = `${binaryName}.${target.platformArchABI}.node`
    if (!existsSync(join(packageDir, binary))) noBinary.push(`${where}/${binary}`)
  }
  if (noBinary.length > 0) {
    problems.push(
      `${noBinary.length === expected.size ? 'No' : 'Not every'} platform package holds its binary: ${noBinary.join(', ')} ` +
        `${noBinary.length === 1 ? 'is' : 'are'} missing. \`${ARTIFACTS}\` moves the built binaries into npm/ (before \`napi pre-publish\`).`,
    )
  }

  const absent = []
  for (const entry of manifest.files ?? []) {
    // Paths, or `dir/*.ext` globs (the compiled facade in src/).
    const glob = /^(.+)\/\*(\.[a-z.]+)$/.exec(entry)
    const found = glob
      ? existsSync(join(dir, glob[1])) && readdirSync(join(dir, glob[1])).some((name) => name.endsWith(glob[2]))
      : existsSync(join(dir, entry))
    if (!found) absent.push(entry)
  }
  if (absent.length > 0) {
    problems.push(
      `"files" lists ${absent.join(', ')}, which match nothing: npm pack would leave them out of the tarball ` +
        '(`npm run build:ts` compiles the facade and its declarations).',
    )
  }
  return problems
}

const dir = resolve(process.argv[2] ?? process.cwd())
const problems = checkPublish(dir)
if (problems.length > 0) {
  process.stderr.write(`check-publish: ${join(dir, 'package.json')} is not ready to publish:\n`)
  for (const problem of problems) process.stderr.write(`  - ${problem}\n`)
  process.exitCode = 1
} else {
  process.stdout.write(`check-publish: ${join(dir, 'package.json')} is ready to publish.\n`)
}
