#!/usr/bin/env node
// Runs the firmware's portable tests under the real MicroPython interpreter (WebAssembly port, npm
// package @micropython/micropython-webassembly-pyscript) and measures the heap the P1 stack needs per
// telegram.
//
//   node mpy/run.mjs [--root DIR] [--heap BYTES] [--mirror DIR]... [--telegrams DIR] [--chunk N]
//                    [--heap-json FILE] [test_module.py ...]
//
// The repository's firmware/ tree (*.py), the given test modules' folders, the --telegrams folder and
// every --mirror folder are copied into the interpreter's in-memory filesystem at the SAME absolute paths
// as on the host, and the working directory is the repository root, so paths the tests compute work.
//
// Output (stdout): one machine-readable line per event, a JSON object after a fixed tag, plus
// human-readable lines (the heap table) without a tag:
//   MPY-INFO {"micropython": "...", "heap": N, ...}
//   MPY-TEST {"module": "test_suites/core/test_x.py", "test": "test_y", "outcome": "passed"|"failed",
//             "ms": 1.2, "traceback": "...", "output": "..."}
//   MPY-ERROR {"module": "...", "traceback": "..."}           (module failed to import)
//   MPY-HEAP {"file": "...", "alloc": N, "live": N, "stack": N, "telegrams": N, ...}
//   MPY-SUMMARY {"passed": N, "failed": N, "errors": N, "heap_peak_max": N|null, "seconds": S}
// Exit status: 0 all passed, 1 a test failed or a module/heap measurement errored, 2 bad usage.
import fs from "node:fs";
import path from "node:path";
import url from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const here = path.dirname(url.fileURLToPath(import.meta.url));
// ESP32 (no PSRAM) running MicroPython has roughly 100-150 KB of heap free for Python objects.
const DEFAULT_HEAP = 128 * 1024;

function usage(msg) {
  if (msg) process.stderr.write(`run.mjs: ${msg}\n`);
  process.stderr.write(
    "usage: node mpy/run.mjs [--root DIR] [--heap BYTES] [--mirror DIR]... [--telegrams DIR] " +
      "[--chunk N] [--heap-json FILE] [test_module.py ...]\n",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { root: path.resolve(here, ".."), heap: DEFAULT_HEAP, mirror: [], telegrams: null,
    chunk: 64, heapJson: null, modules: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} expects a value`);
      return argv[++i];
    };
    if (a === "--root") o.root = path.resolve(val());
    else if (a === "--heap") o.heap = parseInt(val(), 10);
    else if (a === "--mirror") o.mirror.push(path.resolve(val()));
    else if (a === "--telegrams") o.telegrams = path.resolve(val());
    else if (a === "--chunk") o.chunk = parseInt(val(), 10);
    else if (a === "--heap-json") o.heapJson = path.resolve(val());
    else if (a === "-h" || a === "--help") usage();
    else if (a.startsWith("--")) usage(`unknown option ${a}`);
    else o.modules.push(path.resolve(a));
  }
  if (!Number.isInteger(o.heap) || o.heap < 16 * 1024) usage(`--heap expects bytes >= 16384, got ${o.heap}`);
  if (!Number.isInteger(o.chunk) || o.chunk < 1) usage(`--chunk expects a positive integer, got ${o.chunk}`);
  for (const m of o.modules) {
    if (!fs.existsSync(m)) usage(`test module not found: ${m}`);
  }
  if (o.telegrams && !fs.statSync(o.telegrams, { throwIfNoEntry: false })?.isDirectory()) {
    usage(`--telegrams expects a folder, got ${o.telegrams}`);
  }
  return o;
}

const emit = (tag, obj) => process.stdout.write(`${tag} ${JSON.stringify(obj)}\n`);

// Copy a host folder into MEMFS at the same absolute path. pyOnly: only *.py files.
function mirror(FS, dir, pyOnly) {
  let n = 0;
  const walk = (d) => {
    FS.mkdirTree(d);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === "__pycache__" || e.name.startsWith(".")) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (!pyOnly || e.name.endsWith(".py"))) {
        FS.writeFile(p, fs.readFileSync(p));
        n++;
      }
    }
  };
  walk(dir);
  return n;
}

// pytest's rootdir-less "prepend" rule: the import base is the first folder upwards without __init__.py.
function moduleName(file) {
  let dir = path.dirname(file);
  const parts = [path.basename(file, ".py")];
  while (fs.existsSync(path.join(dir, "__init__.py"))) {
    parts.unshift(path.basename(dir));
    dir = path.dirname(dir);
  }
  return { base: dir, name: parts.join(".") };
}

// Test functions in definition order (MicroPython's dir() order is hash order).
function testOrder(file, found) {
  const src = fs.readFileSync(file, "utf8");
  const order = [...src.matchAll(/^def (test_\w+)\s*\(/gm)].map((m) => m[1]);
  const seen = new Set(order.filter((n) => found.includes(n)));
  return [...seen, ...found.filter((n) => !seen.has(n)).sort()];
}

function heapTable(rows, heap) {
  const lines = [];
  const w = Math.max(8, ...rows.map((r) => r.file.length));
  lines.push(`Heap per telegram under MicroPython ${rows.length ? "" : "(no files)"}(GC heap ${heap} bytes; ` +
    `alloc = bytes allocated with GC off = upper bound of the peak; live = kept after gc.collect())`);
  lines.push(`${"file".padEnd(w)}  ${"bytes".padStart(6)}  ${"tgm".padStart(3)}  ${"objs".padStart(4)}  ` +
    `${"alloc".padStart(7)}  ${"live".padStart(7)}`);
  for (const r of rows) {
    if (r.error) {
      lines.push(`${r.file.padEnd(w)}  ERROR ${r.error.split("\n").filter(Boolean).pop()}`);
      continue;
    }
    lines.push(`${r.file.padEnd(w)}  ${String(r.bytes).padStart(6)}  ${String(r.telegrams).padStart(3)}  ` +
      `${String(r.objects).padStart(4)}  ${String(r.alloc).padStart(7)}  ${String(r.live).padStart(7)}`);
  }
  return lines.join("\n");
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  let capture = null;
  const out = (line) => {
    if (capture) capture.push(line);
    else process.stderr.write(`[mpy] ${line}\n`);
  };
  const mp = await loadMicroPython({ heapsize: o.heap, stdout: out, stderr: out });
  const FS = mp.FS;

  let files = mirror(FS, path.join(o.root, "firmware"), true);
  const testDirs = new Set(o.modules.map((m) => moduleName(m).base));
  for (const m of o.modules) {
    // the package folders between the import base and the module (with their __init__.py files)
    testDirs.add(path.dirname(m));
  }
  for (const d of testDirs) files += mirror(FS, d, false); // tests' data files too
  // the telegram folder is there from the start: portable tests may read the example telegrams
  for (const d of o.telegrams ? [...o.mirror, o.telegrams] : o.mirror) files += mirror(FS, d, false);
  FS.writeFile("/mpy_harness.py", fs.readFileSync(path.join(here, "harness.py")));
  // tells the portable tests where the telegram folder was mirrored (test_suites/core/p1_expected.py)
  if (o.telegrams) FS.writeFile("/mpy_paths.py", `TELEGRAMS = ${JSON.stringify(o.telegrams)}\n`);
  FS.chdir(o.root);

  mp.runPython(`import sys\nsys.path.insert(0, '/')\nsys.path.insert(0, ${JSON.stringify(o.root)})`);
  const h = mp.pyimport("mpy_harness");
  const ver = h.version();
  emit("MPY-INFO", { micropython: ver, heap: o.heap, files, root: o.root, modules: o.modules.length });

  const tally = { passed: 0, failed: 0, errors: 0 };
  for (const file of o.modules) {
    const rel = path.relative(o.root, file);
    const { base, name } = moduleName(file);
    h.add_path(base);
    capture = [];
    const loaded = JSON.parse(h.load(name));
    const importOutput = capture.join("\n");
    capture = null;
    if (!loaded.ok) {
      tally.errors++;
      emit("MPY-ERROR", { module: rel, traceback: loaded.traceback, output: importOutput });
      continue;
    }
    for (const test of testOrder(file, loaded.tests)) {
      capture = [];
      const r = JSON.parse(h.run_one(name, test));
      const output = capture.join("\n");
      capture = null;
      const outcome = r.ok ? "passed" : "failed";
      tally[outcome]++;
      emit("MPY-TEST", { module: rel, test, outcome, ms: r.ms, traceback: r.traceback, output });
    }
  }

  let heapMax = null;
  if (o.telegrams) {
    const rows = [];
    const names = fs.readdirSync(o.telegrams).filter((n) => n.endsWith(".txt")).sort();
    for (const n of names) {
      const p = path.join(o.telegrams, n);
      let row;
      try {
        capture = [];
        // separate calls: the port collects only between calls from JavaScript (see harness.py)
        h.heap_prepare(p, o.chunk);
        h.heap_mark();
        h.heap_measure();
        row = { file: n, ...JSON.parse(h.heap_result()) };
      } catch (e) {
        tally.errors++;
        row = { file: n, error: String(e.message || e) };
      } finally {
        capture = null;
      }
      rows.push(row);
      emit("MPY-HEAP", row);
      if (!row.error) heapMax = Math.max(heapMax ?? 0, row.alloc);
    }
    const table = heapTable(rows, o.heap);
    process.stdout.write(table + "\n");
    if (o.heapJson) {
      fs.mkdirSync(path.dirname(o.heapJson), { recursive: true });
      fs.writeFileSync(o.heapJson, JSON.stringify({
        micropython: ver, package: "@micropython/micropython-webassembly-pyscript", heap: o.heap,
        chunk: o.chunk, alloc_max: heapMax, rows,
      }, null, 2) + "\n");
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  emit("MPY-SUMMARY", { ...tally, heap_peak_max: heapMax, seconds });
  process.exitCode = tally.failed || tally.errors ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`run.mjs: internal error: ${e.stack || e}\n`);
  process.exit(2);
});
