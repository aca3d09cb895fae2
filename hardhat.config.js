// Not a Hardhat project: crytic-compile (slither) recognises the layout by this file and reads the
// build-info that `make slither` writes from the project's own solc-js compile (devtools/compiler.py).
module.exports = { paths: { sources: "./contracts", artifacts: "./.build/slither/artifacts" } };
