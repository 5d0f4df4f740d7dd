// Runs inside a fresh project that installed the packed tarballs (packed-install.test.ts copies it
// there), so every import resolves as a user's would: from node_modules, never from the workspace.
// Arguments: the URL of a hub started with `npx herald start`, and a file for a SQLite log. Prints one
// JSON line of what it saw.
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { createBackendClient } from '@herald/backend';
import { createClient } from '@herald/client/node';
import { ErrorCode } from '@herald/protocol';
import { HeraldProvider, useConnectionState } from '@herald/react';
import { RedisBroker } from '@herald/redis';
import { createSqliteEngine } from '@herald/sqlite';
import { createHeraldServer } from '@herald/server';

const [hubUrl, sqliteFile] = process.argv.slice(2);
if (hubUrl === undefined || sqliteFile === undefined) throw new TypeError('usage: node consumer.mjs <hub url> <sqlite file>');

// A broken install must fail the test, not hang it.
setTimeout(() => {
  console.error('consumer: no message within 20 s');
  process.exit(2);
}, 20_000).unref();

/** Subscribes with `client`, runs `publish` once subscribed, resolves with the first message. */
function receiveOne(client, channel, publish) {
  return new Promise((resolve, reject) => {
    const sub = client.subscribe(channel, (message) => resolve({ channel: message.channel, offset: message.offset, data: message.data }));
    sub.on('error', reject);
    sub.on('state', (state) => {
      if (state === 'subscribed') publish().catch(reject);
    });
  });
}

// 1. The hub `npx herald start` runs: the message is published over HTTP by @herald/backend and
//    received by @herald/client's Node entry.
const client = createClient({ url: hubUrl });
const backend = createBackendClient({ url: hubUrl });
const fromCli = await receiveOne(client, 'packed:news', () => backend.publish('packed:news', { title: 'from the packed backend' }));
const transport = client.transport;
client.close();

// 2. @herald/server in this process, on @herald/sqlite (its native module loads): published to in-process.
const server = createHeraldServer({ ...createSqliteEngine({ path: sqliteFile }) });
const port = await server.listen(0, '127.0.0.1');
const embeddedClient = createClient({ url: `http://127.0.0.1:${port}` });
const fromEmbedded = await receiveOne(embeddedClient, 'packed:local', () => server.herald.publish('packed:local', { title: 'in-process' }));
embeddedClient.close();
await server.close();

// 3. @herald/react with this project's React (a second copy of React would throw here).
function Status() {
  return createElement('p', null, useConnectionState().state);
}
const reactClient = createClient({ url: hubUrl });
const html = renderToString(createElement(HeraldProvider, { client: reactClient }, createElement(Status)));
reactClient.close();

console.log(
  JSON.stringify({
    fromCli,
    transport,
    fromEmbedded,
    html,
    // The other packages load, with their dependencies, from the install.
    exports: {
      protocol: typeof ErrorCode.Forbidden,
      redis: typeof RedisBroker,
    },
  }),
);
