package api_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestConcurrentWriters has several clients create target groups and
// register targets at once, with readers alongside: every change lands,
// and the result holds exactly what was created.
func TestConcurrentWriters(t *testing.T) {
	const writers, groups = 8, 10
	e := newEnv(t, envOptions{})
	// retry sends a write until it is not refused as a concurrent
	// conflict.
	retry := func(want int, method, path string, body any) error {
		for {
			r := doAs(t, e.api, testToken, method, path, body)
			switch {
			case r.status == want:
				return nil
			case r.status == 409 && r.errCode() == "Conflict":
				continue
			}
			return fmt.Errorf("%s %s: %s", method, path, r)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*groups*2)
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for g := range groups {
				name := fmt.Sprintf("g%d-%d", w, g)
				if err := retry(201, "POST", "/api/v1/target_groups", map[string]any{"name": name, "protocol": "HTTP", "port": 80,
					"health_check": map[string]any{"enabled": false}}); err != nil {
					errs <- err
					return
				}
				if err := retry(200, "POST", "/api/v1/target_groups/"+name+"/targets", map[string]any{"targets": []any{
					map[string]any{"id": "127.0.0.1", "port": 10000 + w}, map[string]any{"id": "127.0.0.2"}}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, p := range []string{"/api/v1/target_groups", "/api/v1/export", "/api/v1/target_groups/g0-0/health"} {
					if r := doAs(t, e.api, testToken, "GET", p, nil); r.status != 200 && r.status != 404 {
						errs <- fmt.Errorf("GET %s: %s", p, r)
					}
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	var want, got []string
	for w := range writers {
		for g := range groups {
			want = append(want, fmt.Sprintf("g%d-%d", w, g))
		}
	}
	for _, tg := range e.must(200, "GET", "/api/v1/target_groups", nil).list("target_groups") {
		got = append(got, tg["name"].(string))
		if n := tg["registered_targets"]; n != float64(2) {
			t.Errorf("%s: registered_targets %v, want 2", tg["name"], n)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("target groups:\n%v\nwant\n%v", got, want)
	}

	// Deleting them all at once leaves none.
	var dels sync.WaitGroup
	for w := range writers {
		dels.Go(func() {
			for g := range groups {
				if err := retry(204, "DELETE", fmt.Sprintf("/api/v1/target_groups/g%d-%d", w, g), nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
	dels.Wait()
	if l := e.must(200, "GET", "/api/v1/target_groups", nil).list("target_groups"); len(l) != 0 {
		t.Errorf("%d target groups left", len(l))
	}
}

// TestConcurrentIfMatch sends the same conditional change from several
// clients at once: exactly one wins, the others are told the resource
// changed.
func TestConcurrentIfMatch(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(201, "POST", "/api/v1/target_groups", map[string]any{"name": "app", "protocol": "HTTP", "port": 80})
	tag := e.must(200, "GET", "/api/v1/target_groups/app", nil).header.Get("ETag")
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for i := range 8 {
		wg.Go(func() {
			r := doAs(t, e.api, testToken, "PATCH", "/api/v1/target_groups/app", map[string]any{"port": 81 + i}, "If-Match", tag)
			statuses <- r.status
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 1 || count[412] != 7 {
		t.Errorf("statuses %v, want one 200 and seven 412", count)
	}
}
