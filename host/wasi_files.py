"""The fd_* and path_* functions of WASI preview 1 on host files and directories."""

from __future__ import annotations

import os
import stat
import struct
import time

from host import wasi_abi as abi
from host.descriptors import Descriptor, FdTable, filetype_of, rights_for
from host.errors import WasiError
from host.grants import ReadOnlyTrees
from host.guest_memory import GuestMemory
from host.hostcall import hostcall
from host.sandbox import beneath, strip_trailing_slashes

_FILESTAT = struct.Struct("<QQB7xQQQQQ")
_FDSTAT = struct.Struct("<BxH4xQQ")
_PRESTAT = struct.Struct("<B3xI")
_DIRENT = struct.Struct("<QQIB3x")
_TIMESTAMP_MAX = 2**64 - 1

_ADVICE = {
    0: os.POSIX_FADV_NORMAL, 1: os.POSIX_FADV_SEQUENTIAL, 2: os.POSIX_FADV_RANDOM,
    3: os.POSIX_FADV_WILLNEED, 4: os.POSIX_FADV_DONTNEED, 5: os.POSIX_FADV_NOREUSE,
}
_SUPPORTED_FDFLAGS = (abi.FDFLAG_APPEND | abi.FDFLAG_DSYNC | abi.FDFLAG_NONBLOCK
                      | abi.FDFLAG_RSYNC | abi.FDFLAG_SYNC)
_READ_RIGHTS = abi.RIGHT_FD_READ | abi.RIGHT_FD_READDIR
_WRITE_RIGHTS = abi.RIGHT_FD_WRITE | abi.RIGHT_FD_ALLOCATE | abi.RIGHT_FD_FILESTAT_SET_SIZE
# What a descriptor opened in a read-only tree may not do to its file.
FD_CHANGE_RIGHTS = _WRITE_RIGHTS | abi.RIGHT_FD_FILESTAT_SET_TIMES


def _dirent_type(entry: os.DirEntry[str]) -> int:
    if entry.is_symlink():
        return abi.FILETYPE_SYMBOLIC_LINK
    if entry.is_dir(follow_symlinks=False):
        return abi.FILETYPE_DIRECTORY
    if entry.is_file(follow_symlinks=False):
        return abi.FILETYPE_REGULAR_FILE
    return abi.FILETYPE_UNKNOWN


def _timestamp(nanoseconds: int) -> int:
    """A host time as a WASI timestamp, unsigned nanoseconds since 1970.

    Times before 1970 (a file's mtime can be anything) become 0, times past
    2554 the largest timestamp: a stat never fails over a date.
    """
    return min(max(nanoseconds, 0), _TIMESTAMP_MAX)


def _new_times(current: os.stat_result | None, atim: int, mtim: int, fst_flags: int
               ) -> tuple[int, int]:
    """(atime, mtime) in ns for utime(); POSIX's UTIME_OMIT is emulated with `current`."""
    if (fst_flags & abi.FSTFLAG_ATIM and fst_flags & abi.FSTFLAG_ATIM_NOW) or (
            fst_flags & abi.FSTFLAG_MTIM and fst_flags & abi.FSTFLAG_MTIM_NOW):
        raise WasiError(abi.EINVAL)
    now = time.time_ns()
    # WASI timestamps are u64; the raw i64 argument slot reads them as signed.
    atim &= _TIMESTAMP_MAX
    mtim &= _TIMESTAMP_MAX

    def pick(value: int, set_flag: int, now_flag: int, old: int) -> int:
        if fst_flags & set_flag:
            return value
        if fst_flags & now_flag:
            return now
        return old

    old_atime = current.st_atime_ns if current else now
    old_mtime = current.st_mtime_ns if current else now
    return (pick(atim, abi.FSTFLAG_ATIM, abi.FSTFLAG_ATIM_NOW, old_atime),
            pick(mtim, abi.FSTFLAG_MTIM, abi.FSTFLAG_MTIM_NOW, old_mtime))


class FileCalls:
    """Host functions for files, directories and paths."""

    def __init__(self, memory: GuestMemory, table: FdTable,
                 read_only: ReadOnlyTrees | None = None) -> None:
        self.memory = memory
        self.table = table
        self.read_only = read_only or ReadOnlyTrees()

    def _put_filestat(self, address: int, info: os.stat_result, filetype: int | None = None
                      ) -> None:
        if filetype is None:
            filetype = filetype_of(info.st_mode)
        _FILESTAT.pack_into(self.memory.view, address, info.st_dev, info.st_ino,
                            filetype, info.st_nlink, info.st_size,
                            _timestamp(info.st_atime_ns), _timestamp(info.st_mtime_ns),
                            _timestamp(info.st_ctime_ns))

    # -- descriptors -------------------------------------------------------

    @hostcall("iIIi")
    def fd_advise(self, fd: int, offset: int, length: int, advice: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_ADVISE)
        if advice not in _ADVICE or offset < 0 or length < 0:
            return abi.EINVAL
        if descriptor.filetype == abi.FILETYPE_REGULAR_FILE:
            os.posix_fadvise(descriptor.host_fd, offset, length, _ADVICE[advice])
        return 0

    @hostcall("iII")
    def fd_allocate(self, fd: int, offset: int, length: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_ALLOCATE)
        if offset < 0 or length <= 0:
            return abi.EINVAL
        os.posix_fallocate(descriptor.host_fd, offset, length)
        return 0

    @hostcall("i")
    def fd_close(self, fd: int) -> int:
        self.table.remove(fd).close()
        return 0

    @hostcall("i")
    def fd_datasync(self, fd: int) -> int:
        os.fdatasync(self.table.get(fd, abi.RIGHT_FD_DATASYNC).host_fd)
        return 0

    @hostcall("i")
    def fd_sync(self, fd: int) -> int:
        os.fsync(self.table.get(fd, abi.RIGHT_FD_SYNC).host_fd)
        return 0

    @hostcall("ii")
    def fd_fdstat_get(self, fd: int, out: int) -> int:
        descriptor = self.table.get(fd)
        _FDSTAT.pack_into(self.memory.view, out, descriptor.filetype, descriptor.flags,
                          descriptor.rights_base, descriptor.rights_inheriting)
        return 0

    @hostcall("ii")
    def fd_fdstat_set_flags(self, fd: int, flags: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_FDSTAT_SET_FLAGS)
        if flags & ~(abi.FDFLAG_APPEND | abi.FDFLAG_NONBLOCK):
            return abi.ENOTSUP  # the sync flags can only be chosen at open time
        if descriptor.filetype not in (abi.FILETYPE_SOCKET_STREAM, abi.FILETYPE_SOCKET_DGRAM):
            descriptor.set_append(bool(flags & abi.FDFLAG_APPEND))
        elif flags & abi.FDFLAG_APPEND:
            return abi.EINVAL
        descriptor.set_nonblocking(bool(flags & abi.FDFLAG_NONBLOCK))
        kept = descriptor.flags & ~(abi.FDFLAG_APPEND | abi.FDFLAG_NONBLOCK)
        descriptor.flags = kept | flags
        return 0

    @hostcall("iII")
    def fd_fdstat_set_rights(self, fd: int, rights_base: int, rights_inheriting: int) -> int:
        descriptor = self.table.get(fd)
        if (rights_base & ~descriptor.rights_base) or (
                rights_inheriting & ~descriptor.rights_inheriting):
            return abi.ENOTCAPABLE
        descriptor.rights_base = rights_base
        descriptor.rights_inheriting = rights_inheriting
        return 0

    @hostcall("ii")
    def fd_filestat_get(self, fd: int, out: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_FILESTAT_GET)
        # The descriptor knows better than st_mode whether a socket is a datagram one.
        known = descriptor.filetype if descriptor.filetype in (
            abi.FILETYPE_SOCKET_DGRAM, abi.FILETYPE_SOCKET_STREAM) else None
        self._put_filestat(out, os.fstat(descriptor.host_fd), known)
        return 0

    @hostcall("iI")
    def fd_filestat_set_size(self, fd: int, size: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_FILESTAT_SET_SIZE)
        if size < 0:
            return abi.EINVAL
        os.ftruncate(descriptor.host_fd, size)
        return 0

    @hostcall("iIIi")
    def fd_filestat_set_times(self, fd: int, atim: int, mtim: int, fst_flags: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_FILESTAT_SET_TIMES)
        current = os.fstat(descriptor.host_fd)
        os.utime(descriptor.host_fd, ns=_new_times(current, atim, mtim, fst_flags))
        return 0

    @hostcall("iiiIi")
    def fd_pread(self, fd: int, iovs: int, iovs_len: int, offset: int, out: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_READ | abi.RIGHT_FD_SEEK)
        if offset < 0:
            return abi.EINVAL
        buffers = self.memory.iovecs(iovs, iovs_len)
        self.memory.put_u32(out, os.preadv(descriptor.host_fd, buffers, offset) if buffers else 0)
        return 0

    @hostcall("iiiIi")
    def fd_pwrite(self, fd: int, iovs: int, iovs_len: int, offset: int, out: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_WRITE | abi.RIGHT_FD_SEEK)
        if offset < 0:
            return abi.EINVAL
        buffers = self.memory.iovecs(iovs, iovs_len)
        self.memory.put_u32(out, os.pwritev(descriptor.host_fd, buffers, offset) if buffers else 0)
        return 0

    @hostcall("iiii")
    def fd_read(self, fd: int, iovs: int, iovs_len: int, out: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_READ)
        buffers = self.memory.iovecs(iovs, iovs_len)
        self.memory.put_u32(out, descriptor.read_into(buffers) if buffers else 0)
        return 0

    @hostcall("iiii")
    def fd_write(self, fd: int, iovs: int, iovs_len: int, out: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_WRITE)
        buffers = self.memory.iovecs(iovs, iovs_len)
        self.memory.put_u32(out, descriptor.write_from(buffers) if buffers else 0)
        return 0

    @hostcall("ii")
    def fd_prestat_get(self, fd: int, out: int) -> int:
        descriptor = self.table.get(fd)
        if descriptor.preopen_path is None:
            return abi.EBADF
        _PRESTAT.pack_into(self.memory.view, out, abi.PREOPENTYPE_DIR,
                           len(os.fsencode(descriptor.preopen_path)))
        return 0

    @hostcall("iii")
    def fd_prestat_dir_name(self, fd: int, path: int, path_len: int) -> int:
        descriptor = self.table.get(fd)
        if descriptor.preopen_path is None:
            return abi.EBADF
        name = os.fsencode(descriptor.preopen_path)
        if path_len < len(name):
            return abi.ENAMETOOLONG
        self.memory.write(path, name)
        return 0

    @hostcall("iiiIi")
    def fd_readdir(self, fd: int, buf: int, buf_len: int, cookie: int, out: int) -> int:
        descriptor = self.table.get(fd, abi.RIGHT_FD_READDIR)
        if descriptor.filetype != abi.FILETYPE_DIRECTORY:
            return abi.ENOTDIR
        if cookie == 0 or descriptor.listing is None:
            descriptor.listing = self._list_directory(descriptor.host_fd)
        target = self.memory.slice(buf, buf_len)
        used = 0
        listing = descriptor.listing
        for index in range(max(cookie, 0), len(listing)):
            if used >= buf_len:
                break
            name, inode, filetype = listing[index]
            record = _DIRENT.pack(index + 1, inode, len(name), filetype) + name
            piece = record[:buf_len - used]
            target[used:used + len(piece)] = piece
            used += len(piece)
        self.memory.put_u32(out, used)
        return 0

    @staticmethod
    def _list_directory(host_fd: int) -> list[tuple[bytes, int, int]]:
        # ".." reports the directory's own inode: its parent may lie outside the grant.
        own_inode = os.fstat(host_fd).st_ino
        listing = [(b".", own_inode, abi.FILETYPE_DIRECTORY),
                   (b"..", own_inode, abi.FILETYPE_DIRECTORY)]
        with os.scandir(host_fd) as entries:
            for entry in entries:
                listing.append((os.fsencode(entry.name), entry.inode(), _dirent_type(entry)))
        return listing

    @hostcall("ii")
    def fd_renumber(self, fd: int, to: int) -> int:
        self.table.renumber(fd, to)
        return 0

    @hostcall("iIii")
    def fd_seek(self, fd: int, offset: int, whence: int, out: int) -> int:
        # fd_seek(fd, 0, CUR) is ftell(): the tell right is enough for it.
        needed = abi.RIGHT_FD_TELL if (offset == 0 and whence == abi.WHENCE_CUR) \
            else abi.RIGHT_FD_SEEK
        if self.table.get(fd).filetype == abi.FILETYPE_DIRECTORY:
            return abi.EBADF  # what WASI's tests expect, whatever the rights
        descriptor = self.table.get(fd, needed)
        if whence not in (abi.WHENCE_SET, abi.WHENCE_CUR, abi.WHENCE_END):
            return abi.EINVAL
        if descriptor.filetype in (abi.FILETYPE_SOCKET_STREAM, abi.FILETYPE_SOCKET_DGRAM):
            return abi.ESPIPE
        self.memory.put_u64(out, os.lseek(descriptor.host_fd, offset, whence))
        return 0

    @hostcall("ii")
    def fd_tell(self, fd: int, out: int) -> int:
        return self.fd_seek(fd, 0, abi.WHENCE_CUR, out)

    # -- paths ---------------------------------------------------------------

    @hostcall("iii")
    def path_create_directory(self, fd: int, path: int, path_len: int) -> int:
        directory = self.table.get(fd, abi.RIGHT_PATH_CREATE_DIRECTORY)
        guest_path, _ = strip_trailing_slashes(self.memory.path(path, path_len))
        with beneath(directory.host_fd, guest_path, False) as (dir_fd, name):
            if name == ".":
                return abi.EEXIST
            self.read_only.check(dir_fd)
            os.mkdir(name, 0o777, dir_fd=dir_fd)
        return 0

    @hostcall("iiiii")
    def path_filestat_get(self, fd: int, flags: int, path: int, path_len: int, out: int) -> int:
        directory = self.table.get(fd, abi.RIGHT_PATH_FILESTAT_GET)
        follow = bool(flags & abi.LOOKUP_SYMLINK_FOLLOW)
        with beneath(directory.host_fd, self.memory.path(path, path_len), follow) as (
                dir_fd, name):
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        self._put_filestat(out, info)
        return 0

    @hostcall("iiiiIIi")
    def path_filestat_set_times(self, fd: int, flags: int, path: int, path_len: int,
                                atim: int, mtim: int, fst_flags: int) -> int:
        directory = self.table.get(fd, abi.RIGHT_PATH_FILESTAT_SET_TIMES)
        follow = bool(flags & abi.LOOKUP_SYMLINK_FOLLOW)
        with beneath(directory.host_fd, self.memory.path(path, path_len), follow) as (
                dir_fd, name):
            self.read_only.check(dir_fd, name)
            current = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            times = _new_times(current, atim, mtim, fst_flags)
            os.utime(name, ns=times, dir_fd=dir_fd, follow_symlinks=False)
        return 0

    @hostcall("iiiiiii")
    def path_link(self, old_fd: int, old_flags: int, old_path: int, old_path_len: int,
                  new_fd: int, new_path: int, new_path_len: int) -> int:
        source_directory = self.table.get(old_fd, abi.RIGHT_PATH_LINK_SOURCE)
        target_directory = self.table.get(new_fd, abi.RIGHT_PATH_LINK_TARGET)
        follow = bool(old_flags & abi.LOOKUP_SYMLINK_FOLLOW)
        source_path = self.memory.path(old_path, old_path_len)
        target_path = self.memory.path(new_path, new_path_len)
        with beneath(source_directory.host_fd, source_path, follow) as (source_fd, source_name):
            with beneath(target_directory.host_fd, target_path, False) as (target_fd, target_name):
                if source_name == "." or target_name == ".":
                    return abi.EPERM if source_name == "." else abi.EEXIST
                # A link to a read-only file would make it writable elsewhere.
                self.read_only.check(source_fd)
                self.read_only.check(target_fd)
                os.link(source_name, target_name, src_dir_fd=source_fd, dst_dir_fd=target_fd,
                        follow_symlinks=False)
        return 0

    @hostcall("iiiiiIIii")
    def path_open(self, fd: int, dirflags: int, path: int, path_len: int, oflags: int,
                  rights_base: int, rights_inheriting: int, fdflags: int, out: int) -> int:
        needed = abi.RIGHT_PATH_OPEN
        if oflags & abi.OFLAG_CREAT:
            needed |= abi.RIGHT_PATH_CREATE_FILE
        if oflags & abi.OFLAG_TRUNC:
            needed |= abi.RIGHT_PATH_FILESTAT_SET_SIZE
        directory = self.table.get(fd, needed)
        # A child never gets more than its parent may hand down.
        rights_base &= directory.rights_inheriting
        rights_inheriting &= directory.rights_inheriting
        readable = bool(rights_base & _READ_RIGHTS)
        # Write rights open for writing, directories included: the kernel then
        # answers EISDIR for them, as WASI wants. Directories pass write rights
        # on to the files beneath through rights_inheriting, not rights_base.
        writable = bool(rights_base & _WRITE_RIGHTS) or bool(fdflags & abi.FDFLAG_APPEND)
        host_flags = os.O_CLOEXEC | os.O_NOFOLLOW
        if writable:
            host_flags |= os.O_RDWR if readable else os.O_WRONLY
        if oflags & abi.OFLAG_CREAT:
            host_flags |= os.O_CREAT
        if oflags & abi.OFLAG_EXCL:
            host_flags |= os.O_EXCL
        if oflags & abi.OFLAG_TRUNC:
            host_flags |= os.O_TRUNC
        if oflags & abi.OFLAG_DIRECTORY:
            host_flags |= os.O_DIRECTORY
        if fdflags & abi.FDFLAG_APPEND:
            host_flags |= os.O_APPEND
        if fdflags & abi.FDFLAG_DSYNC:
            host_flags |= os.O_DSYNC
        if fdflags & (abi.FDFLAG_SYNC | abi.FDFLAG_RSYNC):
            host_flags |= os.O_SYNC
        if fdflags & abi.FDFLAG_NONBLOCK:
            host_flags |= os.O_NONBLOCK
        follow = bool(dirflags & abi.LOOKUP_SYMLINK_FOLLOW)
        with beneath(directory.host_fd, self.memory.path(path, path_len), follow) as (
                dir_fd, name):
            changes = writable or oflags & (abi.OFLAG_CREAT | abi.OFLAG_TRUNC)
            if changes and self.read_only.within(dir_fd):
                return abi.EROFS
            host_fd = os.open(name, host_flags, 0o666, dir_fd=dir_fd)
            try:
                filetype = filetype_of(os.fstat(host_fd).st_mode)
                # Only the rights that mean something for what was opened: a
                # directory asked for with the seek right does not keep it.
                rights_base &= rights_for(filetype, host_fd)
                # A directory may be a read-only grant's root, its parent not.
                if self.read_only.within(host_fd if filetype == abi.FILETYPE_DIRECTORY
                                         else dir_fd):
                    rights_base &= ~FD_CHANGE_RIGHTS  # its times, say, stay as they are
            except OSError:
                os.close(host_fd)
                raise
        new_fd = self.table.add(Descriptor(host_fd, filetype, rights_base, rights_inheriting,
                                           fdflags & _SUPPORTED_FDFLAGS))
        self.memory.put_u32(out, new_fd)
        return 0

    @hostcall("iiiiii")
    def path_readlink(self, fd: int, path: int, path_len: int, buf: int, buf_len: int,
                      out: int) -> int:
        directory = self.table.get(fd, abi.RIGHT_PATH_READLINK)
        with beneath(directory.host_fd, self.memory.path(path, path_len), False) as (
                dir_fd, name):
            if name == ".":
                return abi.EINVAL
            target = os.fsencode(os.readlink(name, dir_fd=dir_fd))[:buf_len]
        self.memory.write(buf, target)
        self.memory.put_u32(out, len(target))
        return 0

    @hostcall("iii")
    def path_remove_directory(self, fd: int, path: int, path_len: int) -> int:
        directory = self.table.get(fd, abi.RIGHT_PATH_REMOVE_DIRECTORY)
        guest_path, _ = strip_trailing_slashes(self.memory.path(path, path_len))
        with beneath(directory.host_fd, guest_path, False) as (dir_fd, name):
            if name == ".":
                return abi.EINVAL
            self.read_only.check(dir_fd, name, moving=True)
            os.rmdir(name, dir_fd=dir_fd)
        return 0

    @hostcall("iiiiii")
    def path_rename(self, fd: int, old_path: int, old_path_len: int, new_fd: int,
                    new_path: int, new_path_len: int) -> int:
        source_directory = self.table.get(fd, abi.RIGHT_PATH_RENAME_SOURCE)
        target_directory = self.table.get(new_fd, abi.RIGHT_PATH_RENAME_TARGET)
        source_path, source_slash = strip_trailing_slashes(
            self.memory.path(old_path, old_path_len))
        target_path, target_slash = strip_trailing_slashes(
            self.memory.path(new_path, new_path_len))
        with beneath(source_directory.host_fd, source_path, False) as (source_fd, source_name):
            with beneath(target_directory.host_fd, target_path, False) as (target_fd, target_name):
                if source_name == "." or target_name == ".":
                    return abi.EBUSY
                self.read_only.check(source_fd, source_name, moving=True)
                self.read_only.check(target_fd, target_name, moving=True)
                if source_slash or target_slash:
                    mode = os.stat(source_name, dir_fd=source_fd, follow_symlinks=False).st_mode
                    if not stat.S_ISDIR(mode):
                        return abi.ENOTDIR
                os.rename(source_name, target_name, src_dir_fd=source_fd, dst_dir_fd=target_fd)
        return 0

    @hostcall("iiiii")
    def path_symlink(self, old_path: int, old_path_len: int, fd: int, new_path: int,
                     new_path_len: int) -> int:
        directory = self.table.get(fd, abi.RIGHT_PATH_SYMLINK)
        link_text = self.memory.path(old_path, old_path_len)
        if link_text.startswith("/"):
            return abi.EPERM  # could never be followed inside the sandbox
        if "\0" in link_text:
            return abi.EINVAL
        with beneath(directory.host_fd, self.memory.path(new_path, new_path_len), False) as (
                dir_fd, name):
            if name == ".":
                return abi.EEXIST
            self.read_only.check(dir_fd)
            os.symlink(link_text, name, dir_fd=dir_fd)
        return 0

    @hostcall("iii")
    def path_unlink_file(self, fd: int, path: int, path_len: int) -> int:
        directory = self.table.get(fd, abi.RIGHT_PATH_UNLINK_FILE)
        with beneath(directory.host_fd, self.memory.path(path, path_len), False) as (
                dir_fd, name):
            if name == ".":
                return abi.EISDIR
            self.read_only.check(dir_fd)
            os.unlink(name, dir_fd=dir_fd)
        return 0
