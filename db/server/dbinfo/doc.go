// Package dbinfo publishes the ClientDBInfo of the current generation (its
// GRV and commit proxies) to clients.
//
// OpenDatabaseRequest long-polls: a client sends the generation it knows;
// if the publisher's differs it answers at once, otherwise it answers when
// the generation changes (Set with a different generation) or, failing
// that, after PollTimeout with the unchanged info, so that a client learns
// the publisher is still there. The cluster controller will run it on a
// well-known token; the token is configuration here.
package dbinfo
