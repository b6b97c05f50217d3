// Runs an ONNX model with ONNX Runtime (onnxruntime-node, CPU) for the
// benchmark driver: reads inputs from .npy, times `repeat` runs after
// `warmup` runs, writes the outputs as .npy and prints one JSON line.
//
//   node ort_run.js MODEL --threads N --repeat N --warmup N \
//        --input NAME=FILE.npy ... [--output-dir DIR]
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const DTYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array], '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const [type, Arr] = DTYPES[descr] || [];
  if (!type) throw new Error(`${file}: unsupported dtype ${descr}`);
  const off = hstart + hlen;
  const bytes = buf.subarray(off);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  let data = new Arr(copy.buffer, 0, copy.length / Arr.BYTES_PER_ELEMENT);
  if (type === 'bool') data = Uint8Array.from(data);
  return new ort.Tensor(type, data, shape);
}

function writeNpy(file, t) {
  const codes = {float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', int8: '|i1', bool: '|b1'};
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${codes[t.type]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), data]));
}

async function main() {
  const args = process.argv.slice(2);
  let model = null, threads = 1, repeat = 20, warmup = 3, outdir = null;
  const feeds = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--threads') threads = Number(args[++i]);
    else if (a === '--repeat') repeat = Number(args[++i]);
    else if (a === '--warmup') warmup = Number(args[++i]);
    else if (a === '--output-dir') outdir = args[++i];
    else if (a === '--input') {
      const spec = args[++i], eq = spec.lastIndexOf('=');
      feeds[spec.slice(0, eq)] = readNpy(spec.slice(eq + 1));
    } else model = a;
  }
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  let out = null;
  for (let i = 0; i < warmup; i++) out = await session.run(feeds);
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((x, y) => x - y);
  if (outdir) {
    fs.mkdirSync(outdir, {recursive: true});
    for (const name of session.outputNames) writeNpy(path.join(outdir, name.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy'), out[name]);
  }
  console.log(JSON.stringify({engine: 'ort', threads, min_ms: times[0], median_ms: times[times.length >> 1],
                              max_ms: times[times.length - 1], runs: repeat}));
}

main().catch(e => { console.error(`ort_run: ${e.message}`); process.exit(1); });
