package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// testTimeout bounds every wait in these tests; nothing should come near it.
const testTimeout = 10 * time.Second

func TestMemory(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		s := NewMemory()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// testStore is the conformance suite every Store implementation must pass.
// open returns a new, empty store that the suite may close.
func testStore(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"Revisions", testRevisions},
		{"CreateRevisionKept", testCreateRevisionKept},
		{"List", testList},
		{"TxnConds", testTxnConds},
		{"Delete", testDelete},
		{"WatchFromNow", testWatchFromNow},
		{"WatchReplay", testWatchReplay},
		{"WatchCtxEnds", testWatchCtxEnds},
		{"WatchSlowConsumer", testWatchSlowConsumer},
		{"Lock", testLock},
		{"LockCancelled", testLockCancelled},
		{"ConcurrentCAS", testConcurrentCAS},
		{"CancelledCtx", testCancelledCtx},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// testCtx returns a context that ends with the test or after testTimeout.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// put writes key=value unconditionally and returns the new revision.
func put(t *testing.T, s Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Txn(testCtx(t), nil, []Op{{Key: key, Value: []byte(value)}})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return rev
}

// mustGet returns key's KV, failing the test if it is missing.
func mustGet(t *testing.T, s Store, key string) KV {
	t.Helper()
	kv, ok, err := s.Get(testCtx(t), key)
	if err != nil || !ok {
		t.Fatalf("Get(%q) = ok %v, err %v; want the key", key, ok, err)
	}
	return kv
}

// next receives one batch from ch, failing the test if ch is closed or
// nothing arrives in time.
func next(t *testing.T, ch <-chan []Event) []Event {
	t.Helper()
	select {
	case evs, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed; want events")
		}
		return evs
	case <-time.After(testTimeout):
		t.Fatal("no watch events in time")
		return nil
	}
}

// waitClosed drains ch until it closes and returns how many batches it
// held; it fails the test if ch stays open.
func waitClosed(t *testing.T, ch <-chan []Event) int {
	t.Helper()
	timeout := time.After(testTimeout)
	n := 0
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return n
			}
			n++
		case <-timeout:
			t.Fatalf("watch channel still open after %d batches", n)
		}
	}
}

// event is the part of an Event the watch tests compare.
type event struct {
	typ   EventType
	key   string
	value string
	rev   int64
}

func summarize(evs []Event) []event {
	var out []event
	for _, ev := range evs {
		out = append(out, event{ev.Type, ev.KV.Key, string(ev.KV.Value), ev.KV.ModRevision})
	}
	return out
}

func checkBatch(t *testing.T, got []Event, want ...event) {
	t.Helper()
	g := summarize(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Fatalf("watch batch = %v, want %v", g, want)
	}
}

func testGetMissing(t *testing.T, s Store) {
	kv, ok, err := s.Get(testCtx(t), "nope")
	if err != nil || ok || kv.Key != "" || kv.Value != nil {
		t.Fatalf("Get(missing) = %+v, %v, %v; want zero, false, nil", kv, ok, err)
	}
}

func testPutGet(t *testing.T, s Store) {
	ctx := testCtx(t)
	value := []byte("v1")
	rev, err := s.Txn(ctx, nil, []Op{{Key: "a", Value: value}, {Key: "empty"}})
	if err != nil {
		t.Fatal(err)
	}
	value[0] = 'X' // the store must have copied it

	kv := mustGet(t, s, "a")
	if kv.Key != "a" || string(kv.Value) != "v1" || kv.CreateRevision != rev || kv.ModRevision != rev {
		t.Fatalf("Get(a) = %+v, want a=v1 at create=mod=%d", kv, rev)
	}
	kv.Value[0] = 'Y' // and must hand out copies
	if kv := mustGet(t, s, "a"); string(kv.Value) != "v1" {
		t.Fatalf("after mutating a returned value, Get(a) = %q", kv.Value)
	}
	if kv := mustGet(t, s, "empty"); kv.Value == nil || len(kv.Value) != 0 {
		t.Fatalf("Get(empty) value = %#v, want empty non-nil", kv.Value)
	}

	if _, err := s.Txn(ctx, nil, []Op{{Key: "", Value: []byte("x")}}); err == nil {
		t.Fatal("put with an empty key succeeded")
	}
}

func testRevisions(t *testing.T, s Store) {
	ctx := testCtx(t)
	rev, err := s.Revision(ctx)
	if err != nil || rev != 0 {
		t.Fatalf("new store Revision() = %d, %v; want 0", rev, err)
	}
	for i := int64(1); i <= 3; i++ {
		if got := put(t, s, "k"+strconv.FormatInt(i, 10), "v"); got != i {
			t.Fatalf("put %d returned revision %d", i, got)
		}
	}
	// Several ops make one revision.
	rev, err = s.Txn(ctx, nil, []Op{{Key: "x", Value: []byte("1")}, {Key: "y", Value: []byte("2")}, {Key: "k1", Delete: true}})
	if err != nil || rev != 4 {
		t.Fatalf("multi-op Txn = %d, %v; want 4", rev, err)
	}
	// Writes that change nothing make no revision.
	noops := []struct {
		name string
		ops  []Op
	}{
		{"no ops", nil},
		{"delete missing", []Op{{Key: "missing", Delete: true}}},
	}
	for _, tt := range noops {
		rev, err := s.Txn(ctx, nil, tt.ops)
		if err != nil || rev != 4 {
			t.Fatalf("Txn(%s) = %d, %v; want the current revision 4", tt.name, rev, err)
		}
	}
	if rev, err := s.Revision(ctx); err != nil || rev != 4 {
		t.Fatalf("Revision() = %d, %v; want 4", rev, err)
	}
}

func testCreateRevisionKept(t *testing.T, s Store) {
	r1 := put(t, s, "k", "one")
	put(t, s, "other", "x")
	r3 := put(t, s, "k", "two")
	kv := mustGet(t, s, "k")
	if kv.CreateRevision != r1 || kv.ModRevision != r3 || string(kv.Value) != "two" {
		t.Fatalf("Get(k) = %+v; want create %d, mod %d, value two", kv, r1, r3)
	}
	// A key deleted and put again starts over.
	if _, err := s.Txn(testCtx(t), nil, []Op{{Key: "k", Delete: true}}); err != nil {
		t.Fatal(err)
	}
	r5 := put(t, s, "k", "three")
	if kv := mustGet(t, s, "k"); kv.CreateRevision != r5 || kv.ModRevision != r5 {
		t.Fatalf("recreated Get(k) = %+v; want create=mod=%d", kv, r5)
	}
}

func testList(t *testing.T, s Store) {
	for _, k := range []string{"tg/b", "tg/a", "lb/x", "tg/c/1", "tgz", "tg/"} {
		put(t, s, k, "v-"+k)
	}
	kvs, rev, err := s.List(testCtx(t), "tg/")
	if err != nil {
		t.Fatal(err)
	}
	if rev != 6 {
		t.Errorf("List rev = %d, want 6", rev)
	}
	var keys []string
	for _, kv := range kvs {
		keys = append(keys, kv.Key)
		if string(kv.Value) != "v-"+kv.Key {
			t.Errorf("List value of %s = %q", kv.Key, kv.Value)
		}
	}
	if want := "[tg/ tg/a tg/b tg/c/1]"; fmt.Sprint(keys) != want {
		t.Errorf("List(tg/) keys = %v, want %s", keys, want)
	}
	kvs[0].Value[0] = 'X'
	if kv := mustGet(t, s, "tg/"); string(kv.Value) != "v-tg/" {
		t.Errorf("List handed out the stored value: now %q", kv.Value)
	}

	all, _, err := s.List(testCtx(t), "")
	if err != nil || len(all) != 6 {
		t.Errorf("List(\"\") = %d keys, %v; want 6", len(all), err)
	}
	none, rev, err := s.List(testCtx(t), "zzz")
	if err != nil || len(none) != 0 || rev != 6 {
		t.Errorf("List(zzz) = %v, %d, %v; want nothing at 6", none, rev, err)
	}
}

func testTxnConds(t *testing.T, s Store) {
	ctx := testCtx(t)
	r1 := put(t, s, "a", "1")
	put(t, s, "a", "2") // a is now at r1+1; r1 is stale
	put(t, s, "victim", "deleted by every Txn that passes")

	tests := []struct {
		name    string
		conds   []Cond
		wantErr error
	}{
		{"missing key must not exist", []Cond{{Key: "new", ModRevision: 0}}, nil},
		{"existing key must not exist", []Cond{{Key: "a", ModRevision: 0}}, ErrConflict},
		{"stale ModRevision", []Cond{{Key: "a", ModRevision: r1}}, ErrConflict},
		{"missing key at a revision", []Cond{{Key: "gone", ModRevision: r1}}, ErrConflict},
		{"one of two fails", []Cond{{Key: "new2", ModRevision: 0}, {Key: "a", ModRevision: r1}}, ErrConflict},
		{"current ModRevision", []Cond{{Key: "a", ModRevision: r1 + 1}}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.Revision(ctx)
			out := "out" + strconv.Itoa(i)
			rev, err := s.Txn(ctx, tt.conds, []Op{{Key: out, Value: []byte("x")}, {Key: "victim", Delete: true}})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Txn err = %v, want %v", err, tt.wantErr)
			}
			_, wrote, _ := s.Get(ctx, out)
			after, _ := s.Revision(ctx)
			if tt.wantErr != nil {
				if wrote || after != before {
					t.Fatalf("failed Txn wrote %s: %v, revision %d -> %d", out, wrote, before, after)
				}
				if _, ok, _ := s.Get(ctx, "victim"); !ok {
					t.Fatal("failed Txn deleted victim")
				}
				return
			}
			if !wrote || rev != before+1 || after != rev {
				t.Fatalf("Txn = rev %d (before %d, after %d), wrote %v", rev, before, after, wrote)
			}
			put(t, s, "victim", "again") // restore it for the next case
		})
	}

	// Conditions are checked even when there is nothing to write.
	cur, _ := s.Revision(ctx)
	if _, err := s.Txn(ctx, []Cond{{Key: "a", ModRevision: 0}}, nil); !errors.Is(err, ErrConflict) {
		t.Errorf("failing cond with no ops: err = %v, want ErrConflict", err)
	}
	mod := mustGet(t, s, "a").ModRevision
	if rev, err := s.Txn(ctx, []Cond{{Key: "a", ModRevision: mod}}, nil); err != nil || rev != cur {
		t.Errorf("holding cond with no ops = %d, %v; want %d, nil", rev, err, cur)
	}
}

func testDelete(t *testing.T, s Store) {
	ctx := testCtx(t)
	put(t, s, "a", "1")
	rev, err := s.Txn(ctx, nil, []Op{{Key: "a", Delete: true}})
	if err != nil || rev != 2 {
		t.Fatalf("delete = %d, %v; want 2", rev, err)
	}
	if _, ok, err := s.Get(ctx, "a"); ok || err != nil {
		t.Fatalf("Get after delete = %v, %v; want missing", ok, err)
	}
	if kvs, _, _ := s.List(ctx, ""); len(kvs) != 0 {
		t.Fatalf("List after delete = %v", kvs)
	}
	if rev, err := s.Txn(ctx, nil, []Op{{Key: "a", Delete: true}}); err != nil || rev != 2 {
		t.Fatalf("deleting a missing key = %d, %v; want 2, nil", rev, err)
	}
}

func testWatchFromNow(t *testing.T, s Store) {
	ctx := testCtx(t)
	put(t, s, "tg/old", "before the watch")
	ch := s.Watch(ctx, "tg/", 0)

	r2, _ := s.Txn(ctx, nil, []Op{{Key: "tg/a", Value: []byte("1")}, {Key: "lb/x", Value: []byte("no")}, {Key: "tg/b", Value: []byte("2")}})
	r3, _ := s.Txn(ctx, nil, []Op{{Key: "tg/a", Delete: true}})
	put(t, s, "lb/y", "not watched") // a revision with nothing under tg/ is skipped
	r5 := put(t, s, "tg/a", "3")

	checkBatch(t, next(t, ch), event{EventPut, "tg/a", "1", r2}, event{EventPut, "tg/b", "2", r2})
	del := next(t, ch)
	checkBatch(t, del, event{EventDelete, "tg/a", "", r3})
	if del[0].KV.Value != nil {
		t.Errorf("delete event value = %q, want nil", del[0].KV.Value)
	}
	checkBatch(t, next(t, ch), event{EventPut, "tg/a", "3", r5})
	if kv := mustGet(t, s, "tg/a"); kv.CreateRevision != r5 {
		t.Errorf("tg/a CreateRevision = %d, want %d", kv.CreateRevision, r5)
	}
}

func testWatchReplay(t *testing.T, s Store) {
	ctx := testCtx(t)
	r1 := put(t, s, "k", "1")
	r2 := put(t, s, "k", "2")
	r3 := put(t, s, "other", "3")

	ch := s.Watch(ctx, "", r1)
	checkBatch(t, next(t, ch), event{EventPut, "k", "2", r2})
	checkBatch(t, next(t, ch), event{EventPut, "other", "3", r3})
	r4 := put(t, s, "k", "4") // then it goes live
	checkBatch(t, next(t, ch), event{EventPut, "k", "4", r4})

	// Watching from the current revision replays nothing.
	ch = s.Watch(ctx, "", r4)
	r5 := put(t, s, "k", "5")
	checkBatch(t, next(t, ch), event{EventPut, "k", "5", r5})
}

func testWatchCtxEnds(t *testing.T, s Store) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if n := waitClosed(t, s.Watch(cancelled, "", 0)); n != 0 {
		t.Errorf("watch on a cancelled ctx sent %d batches", n)
	}

	ctx, cancel := context.WithCancel(testCtx(t))
	ch := s.Watch(ctx, "", 0)
	put(t, s, "k", "v")
	cancel()
	// The batch may or may not still be buffered; either way the channel
	// closes, and writing after that must not send on it.
	waitClosed(t, ch)
	put(t, s, "k", "after")
}

// testWatchSlowConsumer checks that a watcher that never reads is cut off
// instead of holding up writers, and that history is bounded.
func testWatchSlowConsumer(t *testing.T, s Store) {
	ctx := testCtx(t)
	slow := s.Watch(ctx, "", 0)
	// Enough writes to overflow the watcher's buffer and push revision 1
	// out of the history.
	const writes = historyLen + 100

	done := make(chan error, 1)
	go func() {
		for i := range writes {
			if _, err := s.Txn(ctx, nil, []Op{{Key: "k", Value: []byte(strconv.Itoa(i))}}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("writers blocked behind a slow watcher")
	}
	if n := waitClosed(t, slow); n >= writes {
		t.Errorf("slow watcher got all %d batches; want it cut off", n)
	}

	// Revision 1 has left the history: such a watch closes at once.
	if n := waitClosed(t, s.Watch(ctx, "", 1)); n != 0 {
		t.Errorf("watch from a forgotten revision sent %d batches", n)
	}
	// The oldest revision still remembered can be replayed in full.
	cur, _ := s.Revision(ctx)
	ch := s.Watch(ctx, "", cur-historyLen)
	for i := range historyLen {
		evs := next(t, ch)
		if rev := evs[0].KV.ModRevision; rev != cur-historyLen+int64(i)+1 {
			t.Fatalf("replayed batch %d is revision %d", i, rev)
		}
	}
}

func testLock(t *testing.T, s Store) {
	ctx := testCtx(t)
	unlock, err := s.Lock(ctx, "config")
	if err != nil {
		t.Fatal(err)
	}

	// A second locker waits until its ctx ends.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(short, "config"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a held lock = %v, want DeadlineExceeded", err)
	}
	// Other names are independent.
	unlockOther, err := s.Lock(ctx, "certs")
	if err != nil {
		t.Fatalf("Lock(certs) while config is held: %v", err)
	}
	unlockOther()

	// A waiter gets the lock once it is released.
	got := make(chan func(), 1)
	go func() {
		u, err := s.Lock(ctx, "config")
		if err != nil {
			t.Error(err)
			u = func() {}
		}
		got <- u
	}()
	unlock()
	var unlock2 func()
	select {
	case unlock2 = <-got:
	case <-time.After(testTimeout):
		t.Fatal("waiter did not get the released lock")
	}

	// A second call of the first unlock must not release the new holder.
	unlock()
	short, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(short, "config"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after a repeated unlock, Lock = %v; want the lock still held", err)
	}
	unlock2()
	unlock3, err := s.Lock(ctx, "config")
	if err != nil {
		t.Fatal(err)
	}
	unlock3()
}

func testLockCancelled(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Lock(ctx, "free"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a cancelled ctx = %v, want context.Canceled", err)
	}
}

// testConcurrentCAS increments one counter from many goroutines with
// read-modify-write loops; conditions must make every increment count.
func testConcurrentCAS(t *testing.T, s Store) {
	const workers, increments = 8, 50
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range increments {
				for {
					kv, ok, err := s.Get(ctx, "counter")
					if err != nil {
						t.Error(err)
						return
					}
					n, mod := 0, int64(0)
					if ok {
						n, _ = strconv.Atoi(string(kv.Value))
						mod = kv.ModRevision
					}
					_, err = s.Txn(ctx, []Cond{{Key: "counter", ModRevision: mod}},
						[]Op{{Key: "counter", Value: []byte(strconv.Itoa(n + 1))}})
					if err == nil {
						break
					}
					if !errors.Is(err, ErrConflict) {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	kv := mustGet(t, s, "counter")
	if want := strconv.Itoa(workers * increments); string(kv.Value) != want {
		t.Fatalf("counter = %s, want %s", kv.Value, want)
	}
	if kv.ModRevision != workers*increments {
		t.Fatalf("counter ModRevision = %d, want one revision per increment (%d)", kv.ModRevision, workers*increments)
	}
}

func testCancelledCtx(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, _, err := s.Get(ctx, "k"); return err }},
		{"List", func() error { _, _, err := s.List(ctx, ""); return err }},
		{"Txn", func() error { _, err := s.Txn(ctx, nil, []Op{{Key: "k"}}); return err }},
		{"Revision", func() error { _, err := s.Revision(ctx); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled ctx = %v, want context.Canceled", c.name, err)
		}
	}
	if rev, _ := s.Revision(t.Context()); rev != 0 {
		t.Errorf("a Txn with a cancelled ctx wrote revision %d", rev)
	}
}

func testClosed(t *testing.T, s Store) {
	ctx := testCtx(t)
	put(t, s, "k", "v")
	watch := s.Watch(ctx, "", 0)
	unlock, err := s.Lock(ctx, "held")
	if err != nil {
		t.Fatal(err)
	}
	waiter := make(chan error, 1)
	go func() {
		_, err := s.Lock(ctx, "held")
		waiter <- err
	}()

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitClosed(t, watch)
	select {
	case err := <-waiter:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("waiting Lock after Close = %v, want ErrClosed", err)
		}
	case <-time.After(testTimeout):
		t.Error("waiting Lock not woken by Close")
	}
	unlock() // still safe

	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, _, err := s.Get(ctx, "k"); return err }},
		{"List", func() error { _, _, err := s.List(ctx, ""); return err }},
		{"Txn", func() error { _, err := s.Txn(ctx, nil, []Op{{Key: "k", Value: []byte("x")}}); return err }},
		{"Revision", func() error { _, err := s.Revision(ctx); return err }},
		{"Lock", func() error { _, err := s.Lock(ctx, "other"); return err }},
		{"Close", s.Close},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", c.name, err)
		}
	}
	if n := waitClosed(t, s.Watch(ctx, "", 0)); n != 0 {
		t.Errorf("Watch after Close sent %d batches", n)
	}
}
