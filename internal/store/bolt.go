package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bolt is a Store in one bbolt file: the single-node default.
//
// bbolt holds an exclusive file lock while the store is open, so one
// sluice process owns the file; Lock only has to exclude goroutines of that
// process. Watch history lives in memory, so after a reopen a watcher can
// only start from the revision the store was opened at or later.
type Bolt struct {
	db   *bolt.DB
	path string

	// mu is held for reading by every operation that touches db and for
	// writing by Close, so Close waits for them and they see closed.
	mu     sync.RWMutex
	closed bool
	// wmu spans a write transaction and its publish, so the hub gets
	// revisions in commit order. bbolt already runs one writer at a time;
	// wmu just extends that past the commit.
	wmu sync.Mutex

	hub   *hub
	locks *lockTable
}

var _ Store = (*Bolt)(nil)

// Buckets and keys of the file layout. The kv bucket maps each key to a
// record (see encodeRecord); the meta bucket holds the store revision as
// 8 big-endian bytes.
var (
	kvBucket   = []byte("kv")
	metaBucket = []byte("meta")
	revKey     = []byte("rev")
)

// OpenBolt opens the store at path, creating the file (mode 0600) and its
// parent directory (mode 0700) when they do not exist.
//
// If another process has the file open, OpenBolt waits up to timeout for
// it to let go and then fails with an error saying the store is in use. A
// timeout of zero or less means fail at once rather than wait.
func OpenBolt(path string, timeout time.Duration) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: creating directory for %s: %w", path, err)
	}
	if timeout <= 0 {
		// bbolt reads a zero Timeout as "wait forever"; the smallest
		// positive one gives up after the first try.
		timeout = time.Nanosecond
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("store %s is in use by another sluice process (bbolt lock); stop it or use another --data-dir", path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	var rev int64
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(kvBucket); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		rev, err = readRev(meta)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: initializing %s: %w", path, err)
	}
	return &Bolt{db: db, path: path, hub: newHub(rev), locks: newLockTable()}, nil
}

// Get implements Store.
func (b *Bolt) Get(ctx context.Context, key string) (KV, bool, error) {
	var kv KV
	var ok bool
	err := b.view(ctx, func(tx *bolt.Tx) error {
		rec := tx.Bucket(kvBucket).Get([]byte(key))
		if rec == nil {
			return nil
		}
		var err error
		kv, err = decodeRecord(key, rec)
		ok = err == nil
		return err
	})
	if err != nil {
		return KV{}, false, err
	}
	return kv, ok, nil
}

// List implements Store.
func (b *Bolt) List(ctx context.Context, prefix string) ([]KV, int64, error) {
	var kvs []KV
	var rev int64
	err := b.view(ctx, func(tx *bolt.Tx) error {
		var err error
		if rev, err = readRev(tx.Bucket(metaBucket)); err != nil {
			return err
		}
		p := []byte(prefix)
		c := tx.Bucket(kvBucket).Cursor()
		for k, rec := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, rec = c.Next() {
			kv, err := decodeRecord(string(k), rec)
			if err != nil {
				return err
			}
			kvs = append(kvs, kv)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return kvs, rev, nil
}

// Txn implements Store. Conditions are checked and ops applied in one
// bbolt write transaction.
func (b *Bolt) Txn(ctx context.Context, conds []Cond, ops []Op) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := checkOps(ops); err != nil {
		return 0, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return 0, ErrClosed
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	var rev int64
	var events []Event
	err := b.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		cur, err := readRev(meta)
		if err != nil {
			return err
		}
		// Returning an error from here, ErrConflict included, rolls back
		// whatever applyTxn wrote.
		events, err = applyTxn(boltTxn{tx.Bucket(kvBucket)}, cur, conds, ops)
		if err != nil {
			return err
		}
		rev = cur
		if len(events) == 0 {
			return nil
		}
		rev = cur + 1
		return meta.Put(revKey, binary.BigEndian.AppendUint64(nil, uint64(rev)))
	})
	if err != nil {
		return 0, err
	}
	if len(events) > 0 {
		b.hub.publish(rev, events)
	}
	return rev, nil
}

// Watch implements Store.
func (b *Bolt) Watch(ctx context.Context, prefix string, rev int64) <-chan []Event {
	return b.hub.watch(ctx, prefix, rev)
}

// Lock implements Store.
func (b *Bolt) Lock(ctx context.Context, name string) (func(), error) {
	return b.locks.lock(ctx, name)
}

// Revision implements Store.
func (b *Bolt) Revision(ctx context.Context) (int64, error) {
	var rev int64
	err := b.view(ctx, func(tx *bolt.Tx) error {
		var err error
		rev, err = readRev(tx.Bucket(metaBucket))
		return err
	})
	return rev, err
}

// Close implements Store: it closes watch channels, fails waiting Lock
// calls and releases the file. Closing twice returns ErrClosed.
func (b *Bolt) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	b.closed = true
	b.hub.close()
	b.locks.close()
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("store: closing %s: %w", b.path, err)
	}
	return nil
}

// view runs fn in a read transaction after the checks every read makes.
// fn must copy anything it keeps: bbolt's slices die with the transaction.
func (b *Bolt) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	return b.db.View(fn)
}

// boltTxn is one bbolt write transaction's kv bucket, seen by applyTxn.
type boltTxn struct{ b *bolt.Bucket }

func (t boltTxn) revisions(key string) (create, mod int64, ok bool, err error) {
	rec := t.b.Get([]byte(key))
	if rec == nil {
		return 0, 0, false, nil
	}
	create, mod, _, err = splitRecord(key, rec)
	return create, mod, err == nil, err
}

func (t boltTxn) put(kv KV) error {
	return t.b.Put([]byte(kv.Key), encodeRecord(kv))
}

func (t boltTxn) delete(key string) error {
	return t.b.Delete([]byte(key))
}

// readRev returns the store revision kept in the meta bucket; a new file
// has none and is at revision 0.
func readRev(meta *bolt.Bucket) (int64, error) {
	v := meta.Get(revKey)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("store: corrupt revision record (%d bytes)", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// encodeRecord lays out a key's record: CreateRevision and ModRevision as
// uvarints, then the value bytes.
func encodeRecord(kv KV) []byte {
	rec := make([]byte, 0, 2*binary.MaxVarintLen64+len(kv.Value))
	rec = binary.AppendUvarint(rec, uint64(kv.CreateRevision))
	rec = binary.AppendUvarint(rec, uint64(kv.ModRevision))
	return append(rec, kv.Value...)
}

// splitRecord undoes encodeRecord without copying: value aliases rec.
func splitRecord(key string, rec []byte) (create, mod int64, value []byte, err error) {
	c, n := binary.Uvarint(rec)
	if n <= 0 {
		return 0, 0, nil, fmt.Errorf("store: corrupt record for key %q", key)
	}
	m, k := binary.Uvarint(rec[n:])
	if k <= 0 {
		return 0, 0, nil, fmt.Errorf("store: corrupt record for key %q", key)
	}
	return int64(c), int64(m), rec[n+k:], nil
}

// decodeRecord returns the KV in rec with its value copied out of bbolt's
// memory.
func decodeRecord(key string, rec []byte) (KV, error) {
	create, mod, value, err := splitRecord(key, rec)
	if err != nil {
		return KV{}, err
	}
	return KV{Key: key, Value: append([]byte{}, value...), CreateRevision: create, ModRevision: mod}, nil
}
