#!/usr/bin/env node
// A native-solc-compatible front for solc-js, so py-solc-x can drive it:
//   solc_adapter.js --version            -> native solc's version text, without loading the compiler
//   solc_adapter.js --standard-json ...  -> standard JSON from stdin through solc-js compile()
// Imports resolve from the project root, then node_modules (e.g. @openzeppelin/contracts/...).
// On errors the formatted messages go to stderr and the exit code is 1, as py-solc-x expects.
"use strict";

const fs = require("fs");
const path = require("path");

const PROJECT_ROOT = path.resolve(__dirname, "..");
// solc-js is found by absolute path: py-solc-x may copy this script elsewhere.
const NODE_MODULES = process.env.PASSPORT_NODE_MODULES || path.join(PROJECT_ROOT, "node_modules");
const SOLC_DIR = path.join(NODE_MODULES, "solc");
// Commit of each pinned solc-js release, so `--version` never has to load the 9 MB compiler.
const COMMITS = { "0.8.28": "7893614a" };

function version() {
  const pkg = JSON.parse(fs.readFileSync(path.join(SOLC_DIR, "package.json"), "utf8"));
  const commit = COMMITS[pkg.version] || "00000000";
  return `solc, the solidity compiler commandline interface\nVersion: ${pkg.version}+commit.${commit}.Emscripten.clang`;
}

function findImport(importPath) {
  const roots = [PROJECT_ROOT, NODE_MODULES];
  for (const root of roots) {
    const candidate = path.resolve(root, importPath);
    if (candidate.startsWith(root + path.sep) && fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: `File not found: ${importPath}` };
}

function main(argv) {
  if (argv.includes("--version")) {
    process.stdout.write(version() + "\n");
    return 0;
  }
  if (!argv.includes("--standard-json")) {
    process.stderr.write("usage: solc_adapter.js --version | --standard-json < input.json\n");
    return 2;
  }
  const input = fs.readFileSync(0, "utf8");
  const solc = require(SOLC_DIR);
  const output = solc.compile(input, { import: findImport });
  const parsed = JSON.parse(output);
  const errors = (parsed.errors || []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    process.stderr.write(errors.map((e) => e.formattedMessage || e.message).join("\n") + "\n");
    process.stdout.write(output);
    return 1;
  }
  process.stdout.write(output);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
