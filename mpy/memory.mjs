#!/usr/bin/env node
// Measures the heap one module's image takes under the real MicroPython interpreter (WebAssembly port,
// npm @micropython/micropython-webassembly-pyscript): the import footprint, the app's live heap, and
// the heap each telegram / metering second and each HTTP request allocates. Driven by hil/memory.py.
//
//   node mpy/memory.mjs JOB.json
//
// JOB.json: {"module": "smartmeter", "load": "py"|"mpy"|"inplace", "heap": BYTES,
//            "files": [[host path, image path], ...]      (the image; .mpy paths when load is "mpy"),
//            "order": [[dotted module, image path], ...]    (load "inplace": dependencies first),
//            "feeds": [host path, ...], "chunk": N, "requests": [[method, path, body|null], ...]}
// The image is mirrored at /image (a board's filesystem), mpy/standins at /standins (machine, network),
// and every feed file at its host path. Output: one line per figure, a JSON object after a tag:
//   MEM-INFO {"micropython": "1.27.0", ...}
//   MEM-IMPORT {"alloc": N, "live": N}           (load "inplace": {"alloc": N, "modules": {...}})
//   MEM-APP {"live": N}                           the app built as main.py builds it, tasks not started
//   MEM-FEED {"file": "...", "alloc": N, "live": N, "events": N, ...}   (one /events client listening)
//   MEM-REQUEST {"method": "GET", "path": "/", "status": 200, "peak": N, "alloc": N, "live": N, ...}
//                peak: the most (heap the request holds at a write + what the next step allocates);
//                alloc: everything the request allocates; live: what it leaves behind
//   MEM-EVENTS {"alloc": N, "bytes": N, "clients_after_close": 0}
//   MEM-ERROR {"phase": "...", "error": "..."}
//   MEM-DONE {"seconds": S}
// Exit status: 0 measured, 1 something failed (MEM-ERROR lines), 2 bad usage.
import fs from "node:fs";
import path from "node:path";
import url from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const here = path.dirname(url.fileURLToPath(import.meta.url));
const emit = (tag, obj) => process.stdout.write(`${tag} ${JSON.stringify(obj)}\n`);

function usage(msg) {
  process.stderr.write(`memory.mjs: ${msg}\nusage: node mpy/memory.mjs JOB.json\n`);
  process.exit(2);
}

function put(FS, dest, data) {
  FS.mkdirTree(path.posix.dirname(dest));
  FS.writeFile(dest, data);
}

async function main() {
  const jobPath = process.argv[2];
  if (!jobPath || !fs.existsSync(jobPath)) usage(`expected a job file, got ${jobPath}`);
  const job = JSON.parse(fs.readFileSync(jobPath, "utf8"));
  for (const k of ["module", "load", "files"]) if (!(k in job)) usage(`job lacks "${k}"`);
  const t0 = Date.now();
  const out = [];
  const mp = await loadMicroPython({ heapsize: job.heap || 128 * 1024, stdout: (l) => out.push(l),
    stderr: (l) => out.push(l) });
  const FS = mp.FS;
  for (const [src, dest] of job.files) {
    // inplace: the modules are empty files (their import makes the module objects); the sources beside
    put(FS, `/image/${dest}`, job.load === "inplace" ? "" : fs.readFileSync(src));
    if (job.load === "inplace") put(FS, `/src/${dest}`, fs.readFileSync(src));
  }
  for (const n of ["machine.py", "network.py", "inspect.py"]) put(FS, `/standins/${n}`, fs.readFileSync(path.join(here, "standins", n)));
  put(FS, "/mpy_memory.py", fs.readFileSync(path.join(here, "memory.py")));
  for (const f of job.feeds || []) put(FS, f, fs.readFileSync(f));
  FS.mkdirTree("/flash");
  FS.chdir("/");
  mp.runPython("import sys\nsys.path.insert(0, '/')");
  const h = mp.pyimport("mpy_memory");
  const call = (fn, ...args) => JSON.parse(h[fn](...args));
  let failed = 0;
  const fail = (phase, error) => {
    failed++;
    emit("MEM-ERROR", { phase, error: String(error), output: out.splice(0).join("\n") });
  };
  emit("MEM-INFO", { micropython: h.version(), module: job.module, load: job.load, files: job.files.length,
    heap: job.heap || 128 * 1024 });

  call("prepare", "/image", "/standins");
  call("mark", "base");
  if (job.load === "inplace") {
    const modules = {};
    let total = 0;
    for (const [name, dest] of job.order) {
      const r = call("exec_module", name, `/src/${dest}`);
      if (r.error) { fail(`exec ${name}`, r.error); continue; }
      modules[name] = r.alloc;
      total += r.alloc;
    }
    emit("MEM-IMPORT", { alloc: total, modules });
  } else {
    const r = call("import_app", job.module);
    if (r.error) {
      fail("import", r.error);
    } else {
      emit("MEM-IMPORT", { alloc: r.alloc, ...call("live", "base") });
      call("mark", "code");
      call("build", job.module, "/flash");
      emit("MEM-APP", call("live", "code"));
      call("mark", "app");
      call("listen"); // a browser has the page open: every change of a telegram is published
      for (const f of job.feeds || []) {
        call("load_feed", f, job.chunk || 64);
        const m = call("feed");
        if (m.error) { fail(`feed ${f}`, m.error); continue; }
        emit("MEM-FEED", { file: path.basename(f), ...m, ...call("live", "app") });
      }
      call("unlisten");
      const reqs = [...JSON.parse(h.routes()).map((r) => r.concat(["auto"])), ...(job.requests || [])];
      for (const [method, p, body] of reqs) {
        // step by step (a step ends at each write to the socket; the heap is collected in between):
        // peak = the most (live at a step's start + what the step allocates); alloc = all steps together
        call("request_start", method, p, body ?? null);
        let peak = 0, alloc = 0, steps = 0, err = null, before = null;
        for (;;) {
          const st = call("request_step");
          if (st.error) { err = st.error; break; }
          before ??= st.live; // the heap in use before the request: counted in the app's live heap
          steps++;
          alloc += st.alloc;
          peak = Math.max(peak, st.live - before + st.alloc);
          if (st.done) break;
        }
        if (err) { fail(`${method} ${p}`, err); continue; }
        emit("MEM-REQUEST", { method, path: p, ...call("request_end"), peak, alloc, steps, ...call("live", "app") });
      }
      emit("MEM-EVENTS", call("events"));
    }
  }
  emit("MEM-DONE", { seconds: (Date.now() - t0) / 1000, output: out.join("\n").slice(-4000) });
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`memory.mjs: internal error: ${String(e.stack || e).slice(0, 4000)}\n`);
  process.exit(2);
});
