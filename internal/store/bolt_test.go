package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBolt(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		return openBolt(t, filepath.Join(t.TempDir(), "state.db"))
	})
}

// openBolt opens the store at path and closes it when the test ends.
func openBolt(t *testing.T, path string) *Bolt {
	t.Helper()
	b, err := OpenBolt(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBoltReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	b := openBolt(t, path)
	put(t, b, "tg/api", "v1")
	r2 := put(t, b, "tg/api", "v2")
	r3 := put(t, b, "lb/main", "x")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = openBolt(t, path)
	ctx := testCtx(t)
	if rev, err := b.Revision(ctx); err != nil || rev != r3 {
		t.Fatalf("Revision after reopen = %d, %v; want %d", rev, err, r3)
	}
	kv := mustGet(t, b, "tg/api")
	if string(kv.Value) != "v2" || kv.CreateRevision != 1 || kv.ModRevision != r2 {
		t.Fatalf("tg/api after reopen = %+v; want v2, create 1, mod %d", kv, r2)
	}
	kvs, rev, err := b.List(ctx, "")
	if err != nil || len(kvs) != 2 || rev != r3 {
		t.Fatalf("List after reopen = %d keys at %d, %v; want 2 at %d", len(kvs), rev, err, r3)
	}

	// History does not survive a reopen, but watching from the revision
	// the store reopened at works.
	if n := waitClosed(t, b.Watch(ctx, "", r2)); n != 0 {
		t.Errorf("watch from before the reopen sent %d batches", n)
	}
	ch := b.Watch(ctx, "", r3)
	if r4 := put(t, b, "tg/api", "v3"); r4 != r3+1 {
		t.Fatalf("first write after reopen got revision %d, want %d", r4, r3+1)
	}
	checkBatch(t, next(t, ch), event{EventPut, "tg/api", "v3", r3 + 1})
}

func TestBoltFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "state.db")
	openBolt(t, path)

	for _, tt := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{path, 0o600},
	} {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		// The umask can only take bits away, never add them.
		if got := fi.Mode(); got&^tt.want != 0 || got&0o700 != tt.want&0o700 {
			t.Errorf("%s mode = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestBoltInUse opens the same file twice in one process: flock locks
// belong to an open file description, so the second open conflicts just
// as another process would.
func TestBoltInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	first := openBolt(t, path)

	for _, timeout := range []time.Duration{0, 200 * time.Millisecond} {
		start := time.Now()
		b, err := OpenBolt(path, timeout)
		elapsed := time.Since(start)
		if err == nil {
			b.Close()
			t.Fatalf("second OpenBolt(timeout %v) succeeded", timeout)
		}
		if !strings.Contains(err.Error(), "is in use by another sluice process") || !strings.Contains(err.Error(), path) {
			t.Errorf("second OpenBolt error = %q; want it to name the path and say it is in use", err)
		}
		if limit := timeout + 500*time.Millisecond; elapsed > limit {
			t.Errorf("second OpenBolt(timeout %v) took %v", timeout, elapsed)
		}
	}

	// Once the first store lets go, the file opens.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	openBolt(t, path)
}

func TestBoltCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a bolt file ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := OpenBolt(path, time.Second)
	if err == nil {
		b.Close()
		t.Fatal("OpenBolt of a corrupt file succeeded")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}
