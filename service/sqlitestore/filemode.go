package sqlitestore

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// fileMode is the mode of the database and its -wal, -shm and -journal
// files: they hold every tenant's task output, so only the service's user
// may read them. SQLite creates the side files with the database file's
// mode, so creating that one 0600 is enough for new databases.
const fileMode = 0o600

// sideFiles are the suffixes of the files SQLite keeps beside a database.
var sideFiles = []string{"", "-wal", "-shm", "-journal"}

// secureFiles creates the database file 0600 if it is missing, and takes
// group and other permissions off it and any side file that has them,
// logging each file it tightened.
func secureFiles(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return fmt.Errorf("sqlitestore: create %s: %w", path, err)
	}
	f.Close()
	for _, suffix := range sideFiles {
		name := path + suffix
		fi, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: %w", err)
		}
		mode := fi.Mode().Perm()
		if mode&0o077 == 0 {
			continue
		}
		if err := os.Chmod(name, mode&0o700); err != nil {
			return fmt.Errorf("sqlitestore: take group and other permissions off %s (it holds every tenant's output): %w", name, err)
		}
		log.Warn("took group and other permissions off a database file: it holds every tenant's task output",
			"file", name, "was", mode.String(), "now", (mode & 0o700).String())
	}
	return nil
}
