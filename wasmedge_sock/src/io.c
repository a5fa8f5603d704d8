/* Sending and receiving data. */
#include <sys/socket.h>
#include <wasi/api.h>

#include "abi.h"
#include "addr.h"
#include "errors.h"
#include "trace.h"

/* MSG_PEEK and MSG_WAITALL are defined as the WASI riflags, so they pass to
 * the host unchanged. No send flag exists in the ABI. */
#define RECV_FLAGS (MSG_PEEK | MSG_WAITALL)

static ssize_t do_send(int fd, const void *buf, size_t len, int flags)
{
    __wasi_ciovec_t iov = {.buf = buf, .buf_len = len};
    __wasi_size_t sent;

    if (flags != 0)
        return fail(EOPNOTSUPP);
    if (check(__wasi_sock_send(fd, &iov, 1, 0, &sent)) < 0)
        return -1;
    return sent;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    TRACED_RETURN(do_send(fd, buf, len, flags), "%d, %p, %zu, %#x", fd, buf,
                  len, flags);
}

static ssize_t do_recv(int fd, void *buf, size_t len, int flags)
{
    __wasi_iovec_t iov = {.buf = buf, .buf_len = len};
    __wasi_size_t received;
    __wasi_roflags_t roflags;

    if (flags & ~RECV_FLAGS)
        return fail(EOPNOTSUPP);
    if (check(__wasi_sock_recv(fd, &iov, 1, flags, &received, &roflags)) < 0)
        return -1;
    return received;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    TRACED_RETURN(do_recv(fd, buf, len, flags), "%d, %p, %zu, %#x", fd, buf,
                  len, flags);
}

static ssize_t do_sendto(int fd, const void *buf, size_t len, int flags,
                         const struct sockaddr *addr, socklen_t addr_len)
{
    __wasi_ciovec_t iov = {.buf = buf, .buf_len = len};
    host_addr_t ha;
    uint32_t port, sent;
    int err;

    // POSIX ignores the address on a connected socket; plain send does that.
    if (addr == NULL)
        return do_send(fd, buf, len, flags);
    if (flags != 0)
        return fail(EOPNOTSUPP);
    if ((err = host_addr_from_sockaddr(&ha, &port, addr, addr_len)) != 0)
        return fail(err);
    if (check(we_sock_send_to(fd, &iov, 1, &ha.desc, (int32_t)port, 0, &sent)) < 0)
        return -1;
    return sent;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags,
               const struct sockaddr *addr, socklen_t addr_len)
{
    TRACED_RETURN(do_sendto(fd, buf, len, flags, addr, addr_len),
                  "%d, %p, %zu, %#x, %p, %u", fd, buf, len, flags, (void *)addr,
                  addr_len);
}

static ssize_t do_recvfrom(int fd, void *buf, size_t len, int flags,
                           struct sockaddr *addr, socklen_t *addr_len)
{
    __wasi_iovec_t iov = {.buf = buf, .buf_len = len};
    host_addr_t ha;
    // roflags is a u16 in preview 1; a zeroed u32 is safe whichever width the
    // host writes.
    uint32_t port = 0, received = 0, roflags = 0;

    if (addr == NULL || addr_len == NULL)
        return do_recv(fd, buf, len, flags);
    if (flags & ~RECV_FLAGS)
        return fail(EOPNOTSUPP);
    host_addr_init(&ha);
    if (check(we_sock_recv_from(fd, &iov, 1, &ha.desc, (uint32_t)flags, &port,
                                &received, &roflags)) < 0)
        return -1;
    // A connected stream socket has no per-message sender; the data is still
    // valid, so report an empty address rather than an error.
    if (host_addr_to_sockaddr(&ha, port, addr, addr_len) != 0)
        *addr_len = 0;
    return received;
}

ssize_t recvfrom(int fd, void *restrict buf, size_t len, int flags,
                 struct sockaddr *restrict addr, socklen_t *restrict addr_len)
{
    TRACED_RETURN(do_recvfrom(fd, buf, len, flags, addr, addr_len),
                  "%d, %p, %zu, %#x, %p, %p", fd, buf, len, flags, (void *)addr,
                  (void *)addr_len);
}
