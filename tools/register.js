// Runs TypeScript sources directly: SWC transpiles each file on load (with
// decorator metadata, which NestJS dependency injection needs) and the
// tsconfig paths map @herald/* to libs/ and services/.
process.env.SWC_NODE_PROJECT ??= require('node:path').join(__dirname, '..', 'tsconfig.base.json');
require('@swc-node/register');
