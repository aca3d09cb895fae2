"""Development tools: local chains and nodes, the solc-js compiler glue, the js-ipfs launcher and
sample documents. The core library (``passport``, ``oracle``, ``api``) never imports this package."""
