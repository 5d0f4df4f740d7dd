// The code of `createClient({ share: true })`, imported by the client only when asked (in the browser
// bundle, as herald-share.js beside herald-client.js).
export { shareName } from './share-name.js';
export { SharedTransport } from './shared-transport.js';
export { shareWorker } from './worker.js';
