package accesslog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
)

// fileMode is the mode of log files sluice creates: the log holds client
// addresses and URLs, so other users get nothing.
const fileMode = 0o640

// output is where the background goroutine writes: a file it can rotate and
// reopen, or a plain writer (standard output) it leaves alone. Only that
// goroutine touches it after New.
type output struct {
	w io.Writer
	// f, path and size are set for files only. size counts the bytes handed
	// to w (buffered or not) since f was opened, plus what f held then.
	f    *os.File
	path string
	size int64
	// maxSize (bytes, 0 = never) and backups drive size rotation.
	maxSize int64
	backups int
}

func (o *output) Write(p []byte) (int, error) { return o.w.Write(p) }

func openLog(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// needsRotation reports whether writing n more bytes would take the file
// past maxSize. A file that is still empty takes any line, however long.
func (o *output) needsRotation(n int) bool {
	return o.f != nil && o.maxSize > 0 && o.size > 0 && o.size+int64(n) > o.maxSize
}

// reopen opens path again and switches to it; the old file is closed only
// once the new one is open, so a failure leaves lines going where they went.
func (o *output) reopen() error {
	if o.f == nil {
		return nil
	}
	f, size, err := openLog(o.path)
	if err != nil {
		return fmt.Errorf("reopening access log: %w", err)
	}
	old := o.f
	o.f, o.w, o.size = f, f, size
	if err := old.Close(); err != nil {
		return fmt.Errorf("closing previous access log: %w", err)
	}
	return nil
}

// rotate shifts PATH.i to PATH.i+1 (dropping the oldest), renames PATH to
// PATH.1 and opens a new PATH. The caller flushes first.
func (o *output) rotate() error {
	for i := o.backups - 1; i >= 1; i-- {
		err := os.Rename(o.backup(i), o.backup(i+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotating access log: %w", err)
		}
	}
	// PATH may already be gone (moved by logrotate before a Reopen); then
	// opening it again is all there is to do.
	if err := os.Rename(o.path, o.backup(1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotating access log: %w", err)
	}
	return o.reopen()
}

func (o *output) backup(i int) string { return o.path + "." + strconv.Itoa(i) }

// close closes the file; standard output stays open.
func (o *output) close() error {
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}
