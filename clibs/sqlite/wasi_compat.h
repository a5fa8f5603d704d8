/* Force-included (clang -include) ahead of the SQLite amalgamation when it is
 * compiled for wasm32-wasi. SQLite 3.40's unix VFS expects a few POSIX calls
 * that WASI preview 1 does not have; this header supplies them with the
 * meaning they have in a WASI sandbox.
 *
 * File locking: WASI has no advisory locks, so no process can lock a file
 * against another. SQLite's unix VFS keeps its own table of the locks held
 * by every connection of this process and only asks the system (fcntl
 * F_SETLK) for the part other processes must see. Here that system part
 * always succeeds: connections inside one guest still exclude each other
 * ("database is locked"), while a second process (another guest, or a
 * program on the host) writing the same database at the same time is not
 * excluded and can corrupt it. See README.md, "SQLite in the guest".
 */
#ifndef TIMECRAFT_SQLITE_WASI_COMPAT_H
#define TIMECRAFT_SQLITE_WASI_COMPAT_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

/* wasi-libc defines struct flock but none of these; the values only need to
 * differ from each other and from wasi-libc's F_GETFD..F_SETFL (1..4). */
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2

/* fcntl with the lock commands answered as "no other process holds a lock",
 * every other command passed to wasi-libc. */
static int timecraft_sqlite_fcntl(int fd, int command, ...) {
    va_list args;
    va_start(args, command);
    int result = 0;
    if (command == F_GETLK) {
        struct flock *lock = va_arg(args, struct flock *);
        lock->l_type = F_UNLCK;
    } else if (command != F_SETLK && command != F_SETLKW) {
        result = fcntl(fd, command, va_arg(args, int));
    }
    va_end(args);
    return result;
}
#define fcntl timecraft_sqlite_fcntl

/* WASI files have no permission bits and no owners. SQLite only uses these
 * to give a new journal the mode and owner of its database; there is
 * nothing to copy, so they succeed without doing anything. */
static int timecraft_sqlite_fchmod(int fd, mode_t mode) {
    (void)fd;
    (void)mode;
    return 0;
}
#define fchmod timecraft_sqlite_fchmod

static int timecraft_sqlite_fchown(int fd, uid_t owner, gid_t group) {
    (void)fd;
    (void)owner;
    (void)group;
    return 0;
}
#define fchown timecraft_sqlite_fchown

static uid_t timecraft_sqlite_geteuid(void) {
    return 0;
}
#define geteuid timecraft_sqlite_geteuid

/* SQLite resolves symbolic links in a database's path by calling lstat() on
 * each of its prefixes ("/data", "/data/app", ...). A guest sees only the
 * folders it was granted, so the prefixes above a grant fail with
 * ENOTCAPABLE, which SQLite takes as a reason not to open the database. A
 * folder the guest cannot see holds no link it could follow either: answer
 * ENOENT, which SQLite passes over. */
static int timecraft_sqlite_lstat(const char *path, struct stat *out) {
    int result = lstat(path, out);
    if (result != 0 && errno == ENOTCAPABLE) {
        errno = ENOENT;
    }
    return result;
}
#define lstat timecraft_sqlite_lstat

#endif
