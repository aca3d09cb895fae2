// Promise.withResolvers (ES2024) arrived in Node 22; js-ipfs 0.18's dependencies call it, and the
// project runs on Node 20. Loaded with NODE_OPTIONS=--require before js-ipfs starts; a no-op on Node 22+.
'use strict'

if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    value: function withResolvers () {
      let resolve
      let reject
      const promise = new this((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    },
    writable: true,
    configurable: true
  })
}
