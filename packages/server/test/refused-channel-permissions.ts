import { Permissions, type NamespaceRules } from '@herald/server';

// What the refused-channel tests (sse-refused-channel.test.ts, poll-refused-channel.test.ts) share:
// a namespace anyone may use beside one nobody may, so that one request names both.

/** The same access for every operation of a namespace. */
const every = (access: NamespaceRules['subscribe']): NamespaceRules => ({
  subscribe: access,
  publish: access,
  history: access,
  presence: access,
});

/** `public:*` open to anonymous clients, `secret:*` (and every other namespace) to nobody. */
export const refusedChannelPermissions = (): Permissions =>
  new Permissions({ public: every('anonymous'), secret: every('none') }, every('none'));
