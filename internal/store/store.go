// Package store keeps sluice's control-plane state — load balancers,
// listeners, rules, target groups, target registrations, certificates and
// settings — as a revisioned key-value space.
//
// The model is etcd's: every write bumps one store-wide revision, each key
// remembers the revision that created it and the one that last modified it,
// a transaction applies its writes only if all its conditions hold, watchers
// see every change under a prefix in revision order, and named locks give one
// writer at a time. Bolt (the embedded default, a file in the data dir) and
// Memory (for tests) implement it here; an etcd implementation fits the same
// interface.
package store

import (
	"context"
	"errors"
)

// ErrConflict is returned by Txn when a condition does not hold.
var ErrConflict = errors.New("store: revision conflict")

// ErrClosed is returned by every method once the store is closed.
var ErrClosed = errors.New("store: closed")

// KV is one key and its value at a revision.
type KV struct {
	Key   string
	Value []byte
	// CreateRevision is the revision that created the key.
	CreateRevision int64
	// ModRevision is the revision that last wrote it.
	ModRevision int64
}

// Cond is one condition of a transaction: the key's ModRevision must equal
// ModRevision, where 0 means the key must not exist.
type Cond struct {
	Key         string
	ModRevision int64
}

// Op is one write of a transaction: a put, or a delete when Delete is set.
// Deleting a key that does not exist is not an error.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// EventType says what happened to a key.
type EventType int

// Event types.
const (
	EventPut EventType = iota + 1
	EventDelete
)

// Event is one change seen by a watcher. For deletes, KV.Value is nil,
// KV.CreateRevision is 0 and KV.ModRevision is the deleting revision.
type Event struct {
	Type EventType
	KV   KV
}

// Store is the state interface. Keys are slash-separated strings such as
// "target_groups/api"; values are opaque bytes (JSON in practice). All
// methods are safe for concurrent use.
type Store interface {
	// Get returns the key's current value; ok is false when the key does
	// not exist.
	Get(ctx context.Context, key string) (kv KV, ok bool, err error)
	// List returns every key starting with prefix, sorted by key, and the
	// store's revision at which they were read.
	List(ctx context.Context, prefix string) (kvs []KV, rev int64, err error)
	// Txn applies ops atomically, in order, as one new revision, if every
	// cond holds; otherwise it returns ErrConflict and changes nothing. It
	// returns the new revision. A Txn that changes nothing (no ops, or
	// only deletes of missing keys) makes no revision and no event and
	// returns the current revision. An op with an empty key is an error.
	Txn(ctx context.Context, conds []Cond, ops []Op) (rev int64, err error)
	// Watch sends the events of every revision after rev for keys starting
	// with prefix, in revision order, until ctx ends; then it closes the
	// channel. A rev of 0 means from the current revision on. Events of
	// one revision arrive together as one slice; revisions with no
	// matching event are skipped. A watcher that falls too far behind, or
	// asks for a revision the store no longer remembers, gets its channel
	// closed early and should List again.
	Watch(ctx context.Context, prefix string, rev int64) <-chan []Event
	// Lock takes the named lock, waiting until it is free or ctx ends, and
	// returns the function that releases it. Calling unlock again does
	// nothing.
	Lock(ctx context.Context, name string) (unlock func(), err error)
	// Revision returns the store's current revision.
	Revision(ctx context.Context) (int64, error)
	// Close releases the store. Watch channels close and waiting Lock
	// calls return ErrClosed.
	Close() error
}
