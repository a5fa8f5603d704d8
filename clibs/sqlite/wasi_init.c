/* Run by sqlite3_initialize() (SQLITE_EXTRA_INIT=timecraft_sqlite_init).
 *
 * The unix VFS seeds SQLite's random numbers (temporary names, random(),
 * randomblob()) from /dev/urandom, which a WASI guest usually cannot open;
 * its fallback is the time and the process id, which every guest shares.
 * WASI's random_get, behind getentropy(), is the sandbox's entropy source.
 */
#include <stddef.h>
#include <unistd.h>

#include "sqlite3.h"

int timecraft_sqlite_init(const char *unused);

/* getentropy() hands out at most 256 bytes per call. */
#define ENTROPY_CHUNK 256

static int wasi_randomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    int done = 0;
    while (done < size) {
        size_t chunk = (size_t)(size - done) < ENTROPY_CHUNK ? (size_t)(size - done) : ENTROPY_CHUNK;
        if (getentropy(out + done, chunk) != 0) {
            break; /* SQLite uses what it got, as with a short read of /dev/urandom */
        }
        done += (int)chunk;
    }
    return done;
}

int timecraft_sqlite_init(const char *unused) {
    (void)unused;
    static const char *const names[] = {"unix", "unix-none", "unix-dotfile", "unix-excl"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        sqlite3_vfs *vfs = sqlite3_vfs_find(names[i]);
        if (vfs != NULL) {
            vfs->xRandomness = wasi_randomness;
        }
    }
    return SQLITE_OK;
}
