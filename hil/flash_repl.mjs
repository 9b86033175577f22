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
// This port numbers errors as Emscripten does (ENOENT is 44), a board as MicroPython does (ENOENT is 2),
// and mpremote reads "OSError: N" by MicroPython's numbers. So an "OSError: N" line is renumbered on its
// way out, as the board would print it; everything else passes untouched and at once.
const ERRNO = { 44: 2, 2: 13, 20: 17, 54: 20, 31: 21, 28: 22, 8: 9, 51: 28, 55: 39, 63: 1 };
const TAG = "OSError: ";
let tail = "";
function out(text) {
  tail += text;
  let flush = "";
  for (;;) {
    const nl = tail.indexOf("\n");
    const line = nl < 0 ? tail : tail.slice(0, nl + 1);
    const start = line.startsWith(TAG) || TAG.startsWith(line);
    if (nl < 0 && start) break;          // maybe an OSError line still arriving: hold it
    flush += line.replace(/^OSError: (\d+)(\r?\n)$/, (m, n, end) => `${TAG}${ERRNO[n] ?? n}${end}`);
    tail = nl < 0 ? "" : tail.slice(nl + 1);
    if (nl < 0) break;
  }
  if (flush) process.stdout.write(Buffer.from(flush, "latin1"));
}
const mp = await loadMicroPython({ heapsize, linebuffer: false,
  stdout: (data) => out(Buffer.from(typeof data === "string" ? Buffer.from(data, "utf8") : data)
    .toString("latin1")) });
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
        chain = chain.then(() => out("R\x00"));
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
        out("soft reboot\r\n");
        mp.replInit();
      }
    });
}
process.stdin.on("end", () => chain.then(() => process.exit(0)));
