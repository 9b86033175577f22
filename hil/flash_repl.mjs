#!/usr/bin/env node
// A MicroPython "board" for `hil flash` tests: the real MicroPython interpreter (WebAssembly port, npm
// @micropython/micropython-webassembly-pyscript installed in mpy/) with its REPL on stdin/stdout (pipes),
// which hil/flash_board.py relays to a pty so mpremote talks to it as to a board's USB serial port.
// Its filesystem is in memory; a soft reset (Ctrl-D) restarts the REPL and keeps the files, as on a board.
//   node hil/flash_repl.mjs [--heap BYTES]
import path from "node:path";
import url from "node:url";

const here = path.dirname(url.fileURLToPath(import.meta.url));
const pkg = path.join(here, "..", "mpy", "node_modules", "@micropython", "micropython-webassembly-pyscript",
  "micropython.mjs");
const { loadMicroPython } = await import(url.pathToFileURL(pkg).href);
const i = process.argv.indexOf("--heap");
const heapsize = i > 0 ? parseInt(process.argv[i + 1], 10) : 256 * 1024;
const mp = await loadMicroPython({ heapsize, linebuffer: false,
  stdout: (data) => process.stdout.write(typeof data === "string" ? data : Buffer.from(data)) });
mp.replInit();
let chain = Promise.resolve();
// The event-driven REPL of this port cannot block for raw-paste's flow control, so a raw-paste request
// (Ctrl-E 'A' Ctrl-A) is answered "understood, not supported" (R\x00), as MicroPython's protocol allows;
// mpremote then sends the code through the plain raw REPL.
const PASTE = [0x05, 0x41, 0x01];
let held = [];
process.stdin.on("data", (data) => {
  for (const byte of data) {
    held.push(byte);
    if (held.length <= PASTE.length && held.every((b, k) => b === PASTE[k])) {
      if (held.length === PASTE.length) {
        held = [];
        chain = chain.then(() => process.stdout.write("R\x00"));
      }
      continue;
    }
    const run = held;
    held = [];
    for (const c of run) feed(c);
  }
});

function feed(c) {
    chain = chain.then(() => mp.replProcessCharWithAsyncify(c)).then((r) => {
      if (r) {  // Ctrl-D on an empty raw REPL line: a soft reset, announced as a board does
        process.stdout.write("soft reboot\r\n");
        mp.replInit();
      }
    });
}
process.stdin.on("end", () => chain.then(() => process.exit(0)));
