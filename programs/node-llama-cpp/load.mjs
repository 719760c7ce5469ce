// A real llama.cpp loading a model: node-llama-cpp's prebuilt CPU libllama
// (no GPU, never built from source), driven the way llama.cpp's own tools
// load a model. faultline measures it as a program cell and compares what the
// kernel saw with the strategies that imitate it.
//
//   node load.mjs MODEL [--mode mmap|no-mmap|mlock|direct-io] [--hold]
//
// Prints "ready <ms>" on stdout once the model is loaded (the time from the
// call to loadModel). Without --hold it then frees the model and exits 0;
// with --hold it stays until SIGTERM or stdin closes, so the caller can read
// its memory while the model is loaded. Errors: a message on stderr, exit 1.
import {getLlama} from "node-llama-cpp";

const usage = "usage: node load.mjs MODEL [--mode mmap|no-mmap|mlock|direct-io] [--hold]";
const modes = {
  "mmap": {useMmap: true},
  "no-mmap": {useMmap: false},
  "mlock": {useMmap: true, useMlock: true},
  "direct-io": {useMmap: false, useDirectIo: true},
};

function parse(argv) {
  const o = {model: "", mode: "mmap", hold: false};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === "--mode") o.mode = argv[++i] ?? "";
    else if (a === "--hold") o.hold = true;
    else if (a === "-h" || a === "--help") { console.log(usage); process.exit(0); }
    else if (a.startsWith("-")) throw new Error(`unknown option '${a}'\n${usage}`);
    else if (!o.model) o.model = a;
    else throw new Error(`one model only ('${a}')\n${usage}`);
  }
  if (!o.model) throw new Error(usage);
  if (!(o.mode in modes)) throw new Error(`unknown --mode '${o.mode}' (${Object.keys(modes).join(", ")})`);
  return o;
}

try {
  const o = parse(process.argv.slice(2));
  const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
  const t0 = performance.now();
  const model = await llama.loadModel({modelPath: o.model, ...modes[o.mode]});
  console.log(`ready ${(performance.now() - t0).toFixed(1)} ms`);
  if (o.hold) {
    await new Promise((resolve) => {
      process.on("SIGTERM", resolve);
      process.stdin.on("end", resolve);
      process.stdin.on("close", resolve);
      process.stdin.resume();
    });
  }
  await model.dispose();
  process.exit(0);
} catch (e) {
  console.error(`load.mjs: ${e.message ?? e}`);
  process.exit(1);
}
