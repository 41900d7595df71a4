package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Memory is a Store that keeps everything in process memory. It is meant
// for tests: nothing survives the process, and List sorts on every call.
type Memory struct {
	mu     sync.RWMutex
	closed bool
	rev    int64
	kvs    map[string]KV // values are private copies, never handed out

	hub   *hub
	locks *lockTable
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store at revision 0.
func NewMemory() *Memory {
	return &Memory{
		kvs:   make(map[string]KV),
		hub:   newHub(0),
		locks: newLockTable(),
	}
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, key string) (KV, bool, error) {
	if err := ctx.Err(); err != nil {
		return KV{}, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return KV{}, false, ErrClosed
	}
	kv, ok := m.kvs[key]
	if !ok {
		return KV{}, false, nil
	}
	return cloneKV(kv), true, nil
}

// List implements Store.
func (m *Memory) List(ctx context.Context, prefix string) ([]KV, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, 0, ErrClosed
	}
	var kvs []KV
	for key, kv := range m.kvs {
		if strings.HasPrefix(key, prefix) {
			kvs = append(kvs, cloneKV(kv))
		}
	}
	slices.SortFunc(kvs, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	return kvs, m.rev, nil
}

// Txn implements Store.
func (m *Memory) Txn(ctx context.Context, conds []Cond, ops []Op) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := checkOps(ops); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	// applyTxn checks every condition before its first write and a map
	// write cannot fail, so a conflict leaves the map untouched.
	events, err := applyTxn(memTxn{m.kvs}, m.rev, conds, ops)
	if err != nil {
		return 0, err
	}
	if len(events) > 0 {
		m.rev++
		// Publishing under m.mu hands revisions to the hub in order.
		m.hub.publish(m.rev, events)
	}
	return m.rev, nil
}

// Watch implements Store.
func (m *Memory) Watch(ctx context.Context, prefix string, rev int64) <-chan []Event {
	return m.hub.watch(ctx, prefix, rev)
}

// Lock implements Store.
func (m *Memory) Lock(ctx context.Context, name string) (func(), error) {
	return m.locks.lock(ctx, name)
}

// Revision implements Store.
func (m *Memory) Revision(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, ErrClosed
	}
	return m.rev, nil
}

// Close implements Store. Closing twice returns ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	m.kvs = nil
	m.hub.close()
	m.locks.close()
	return nil
}

// memTxn is Memory's view of its map for applyTxn; the caller holds m.mu.
type memTxn struct{ kvs map[string]KV }

func (t memTxn) revisions(key string) (create, mod int64, ok bool, err error) {
	kv, ok := t.kvs[key]
	return kv.CreateRevision, kv.ModRevision, ok, nil
}

func (t memTxn) put(kv KV) error {
	t.kvs[kv.Key] = kv
	return nil
}

func (t memTxn) delete(key string) error {
	delete(t.kvs, key)
	return nil
}

// The rest of this file is shared by Memory and Bolt: the transaction
// logic, the watch hub and the lock table. Only key storage differs
// between the two.

// txnBackend is the key storage of one write transaction, as applyTxn sees
// it.
type txnBackend interface {
	// revisions returns the key's CreateRevision and ModRevision; ok is
	// false when the key does not exist.
	revisions(key string) (create, mod int64, ok bool, err error)
	// put stores kv under kv.Key. kv.Value is already a private copy.
	put(kv KV) error
	delete(key string) error
}

// checkOps rejects ops that no backend could store. It runs before a
// transaction starts so that a bad op cannot leave half a transaction
// applied.
func checkOps(ops []Op) error {
	for i, op := range ops {
		if op.Key == "" {
			return fmt.Errorf("store: op %d has an empty key", i)
		}
	}
	return nil
}

// applyTxn checks conds against tx and, if all hold, applies ops in order
// as revision cur+1. It returns the events the ops caused; when there are
// none (no ops, or only deletes of missing keys) nothing was written and the
// caller must not bump the revision. A failed condition returns ErrConflict
// before anything is written.
func applyTxn(tx txnBackend, cur int64, conds []Cond, ops []Op) ([]Event, error) {
	for _, c := range conds {
		_, mod, _, err := tx.revisions(c.Key)
		if err != nil {
			return nil, err
		}
		// A missing key reads as ModRevision 0, which is what a
		// "must not exist" condition asks for.
		if mod != c.ModRevision {
			return nil, ErrConflict
		}
	}
	rev := cur + 1
	var events []Event
	for _, op := range ops {
		create, _, exists, err := tx.revisions(op.Key)
		if err != nil {
			return nil, err
		}
		if op.Delete {
			if !exists {
				continue
			}
			if err := tx.delete(op.Key); err != nil {
				return nil, err
			}
			events = append(events, Event{Type: EventDelete, KV: KV{Key: op.Key, ModRevision: rev}})
			continue
		}
		if !exists {
			create = rev
		}
		// Copy so the caller may reuse op.Value; a nil value is stored as
		// an empty one, so Get never returns nil for an existing key.
		kv := KV{Key: op.Key, Value: append([]byte{}, op.Value...), CreateRevision: create, ModRevision: rev}
		if err := tx.put(kv); err != nil {
			return nil, err
		}
		events = append(events, Event{Type: EventPut, KV: kv})
	}
	return events, nil
}

// cloneKV returns kv with a copy of its value, so callers may mutate it.
func cloneKV(kv KV) KV {
	if kv.Value != nil {
		kv.Value = append([]byte{}, kv.Value...)
	}
	return kv
}

// historyLen is how many recent revisions the hub keeps for replay. It is
// also each watcher's buffer, so a full replay always fits an empty
// channel and a watcher may fall this many matching revisions behind
// before it is dropped.
const historyLen = 1024

// revEvents is the events of one revision.
type revEvents struct {
	rev    int64
	events []Event
}

// hub fans committed revisions out to watchers and remembers the last
// historyLen of them so a watcher can start from a recent revision.
//
// Stores call publish in revision order, each revision once, after it has
// committed. Every send and every close of a watcher channel happens under
// mu, so a channel is never sent on after it is closed.
type hub struct {
	mu       sync.Mutex
	closed   bool
	rev      int64 // last published revision
	floor    int64 // history holds every revision after floor
	history  []revEvents
	watchers map[*watcher]struct{}
}

// watcher is one Watch call.
type watcher struct {
	prefix string
	after  int64 // last revision sent or skipped; older revisions are ignored
	ch     chan []Event
	stop   func() bool // unregisters the ctx callback
}

// newHub returns a hub for a store whose current revision is rev. Nothing
// before rev can be replayed.
func newHub(rev int64) *hub {
	return &hub{rev: rev, floor: rev, watchers: make(map[*watcher]struct{})}
}

// watch implements Store.Watch.
func (h *hub) watch(ctx context.Context, prefix string, rev int64) <-chan []Event {
	ch := make(chan []Event, historyLen)
	if ctx.Err() != nil {
		close(ch)
		return ch
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || (rev > 0 && rev < h.floor) {
		close(ch)
		return ch
	}
	if rev <= 0 {
		rev = h.rev
	}
	// A rev beyond h.rev is fine: a List may read a revision whose commit
	// the hub has not been told about yet, and after keeps the watcher from
	// seeing it twice.
	w := &watcher{prefix: prefix, after: rev, ch: ch}
	h.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() { h.drop(w) })
	for _, re := range h.history {
		if !h.send(w, re) {
			break
		}
	}
	return ch
}

// publish records one committed revision and offers it to every watcher.
// It never blocks: a watcher whose buffer is full is dropped.
func (h *hub) publish(rev int64, events []Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.rev = rev
	if len(h.history) == historyLen {
		h.floor = h.history[0].rev
		h.history[0] = revEvents{} // let the events be collected
		h.history = h.history[1:]
	}
	re := revEvents{rev: rev, events: events}
	h.history = append(h.history, re)
	for w := range h.watchers {
		h.send(w, re)
	}
}

// send offers re to w, keeping only events under w's prefix. When w's
// buffer is full it drops w and reports false. h.mu must be held.
func (h *hub) send(w *watcher, re revEvents) bool {
	if re.rev <= w.after {
		return true
	}
	w.after = re.rev
	var out []Event
	for _, ev := range re.events {
		if strings.HasPrefix(ev.KV.Key, w.prefix) {
			ev.KV = cloneKV(ev.KV)
			out = append(out, ev)
		}
	}
	if len(out) == 0 {
		return true
	}
	select {
	case w.ch <- out:
		return true
	default:
		h.remove(w)
		return false
	}
}

// drop removes w when its ctx ends.
func (h *hub) drop(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.remove(w)
}

// remove closes w's channel unless that already happened. h.mu must be
// held.
func (h *hub) remove(w *watcher) {
	if _, ok := h.watchers[w]; !ok {
		return
	}
	delete(h.watchers, w)
	w.stop()
	close(w.ch)
}

// close closes every watcher channel; later watches get closed channels.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for w := range h.watchers {
		h.remove(w)
	}
	h.history = nil
}

// lockTable is a set of named in-process mutexes whose Lock honours ctx.
type lockTable struct {
	mu     sync.Mutex
	held   map[string]chan struct{} // closed when the holder unlocks
	closed chan struct{}            // closed by close
}

func newLockTable() *lockTable {
	return &lockTable{held: make(map[string]chan struct{}), closed: make(chan struct{})}
}

// lock implements Store.Lock. The returned unlock may be called more than
// once; only the first call releases the lock.
func (l *lockTable) lock(ctx context.Context, name string) (func(), error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l.mu.Lock()
		select {
		case <-l.closed:
			l.mu.Unlock()
			return nil, ErrClosed
		default:
		}
		released, busy := l.held[name]
		if !busy {
			released = make(chan struct{})
			l.held[name] = released
			l.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					l.mu.Lock()
					delete(l.held, name)
					l.mu.Unlock()
					close(released)
				})
			}, nil
		}
		l.mu.Unlock()
		// Every waiter wakes on release and races for the lock again;
		// locks are few and rarely contended, so fairness is not worth
		// a queue.
		select {
		case <-released:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.closed:
			return nil, ErrClosed
		}
	}
}

// close makes waiting and later lock calls return ErrClosed. Held locks
// stay held until their unlock, which remains safe to call.
func (l *lockTable) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.closed)
}
