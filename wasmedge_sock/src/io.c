/* Sending and receiving data. */
#include <sys/socket.h>
#include <wasi/api.h>

#include "abi.h"
#include "addr.h"
#include "errors.h"
#include "sockfd.h"
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
    // Both 4 bytes, whatever width preview 1 gives roflags: timecraft writes 4.
    uint32_t received = 0, roflags = 0;

    if (flags & ~RECV_FLAGS)
        return fail(EOPNOTSUPP);
    if (check(we_sock_recv(fd, &iov, 1, flags, &received, &roflags)) < 0)
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
    uint32_t port = 0, received = 0, roflags = 0;
    ssize_t n;
    int type;

    if (addr == NULL || addr_len == NULL)
        return do_recv(fd, buf, len, flags);
    if (flags & ~RECV_FLAGS)
        return fail(EOPNOTSUPP);
    if (socket_type_of(fd, &type) < 0)
        return -1;
    if (type == SOCK_STREAM) {
        // timecraft's sock_recv_from fails with EINVAL on stream sockets after
        // consuming the data, so streams never reach it. A stream has no
        // per-message sender: Linux reports an empty address, and so do we.
        if ((n = do_recv(fd, buf, len, flags)) >= 0)
            *addr_len = 0;
        return n;
    }
    host_addr_init(&ha);
    if (check(we_sock_recv_from(fd, &iov, 1, &ha.desc, (uint32_t)flags, &port,
                                &received, &roflags)) < 0)
        return -1;
    // The data is valid even if the host named no sender it can encode.
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
