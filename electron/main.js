'use strict'

// Electron's main process: loads memmap as an app would and runs check.js against it. The refusal
// must come from Electron itself, so the variable that forces it in plain Node.js must be unset.
// CI: xvfb-run electron --no-sandbox electron/main.js (exit code 0 when the contract holds).

const { app } = require('electron')

app.whenReady().then(() => {
  let code = 1
  try {
    if (process.env.MEMMAP_NO_EXTERNAL_BUFFERS) throw new Error('unset MEMMAP_NO_EXTERNAL_BUFFERS: Electron must refuse by itself')
    const result = require('./check')(require('..'))
    console.log(JSON.stringify({ electron: process.versions.electron, node: process.versions.node, ...result }))
    code = 0
  } catch (error) {
    console.error(error)
  }
  app.exit(code)
})
