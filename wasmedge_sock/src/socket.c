/* Creating, binding, connecting, listening, accepting and shutting down. */
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wasi/api.h>

#include "abi.h"
#include "addr.h"
#include "errors.h"
#include "trace.h"

static int family_to_host(int domain, int32_t *family)
{
    switch (domain) {
    case AF_INET:
        *family = WE_AF_INET;
        return 0;
    case AF_INET6:
        *family = WE_AF_INET6;
        return 0;
    case AF_UNIX:
        *family = WE_AF_UNIX;
        return 0;
    default:
        return EAFNOSUPPORT;
    }
}

/* The host picks the protocol from the type, so only the protocol that type
 * implies (or 0) can be honoured. */
static int type_to_host(int domain, int type, int protocol, int32_t *host_type)
{
    switch (type) {
    case SOCK_STREAM:
        *host_type = WE_SOCK_STREAM;
        if (protocol == 0 || (domain != AF_UNIX && protocol == IPPROTO_TCP))
            return 0;
        return EPROTONOSUPPORT;
    case SOCK_DGRAM:
        *host_type = WE_SOCK_DGRAM;
        if (protocol == 0 || (domain != AF_UNIX && protocol == IPPROTO_UDP))
            return 0;
        return EPROTONOSUPPORT;
    default:
        return EINVAL;
    }
}

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static int do_socket(int domain, int type, int protocol)
{
    // WASI has no exec, so SOCK_CLOEXEC needs no action.
    int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    int32_t family, host_type, fd;
    int err;

    if ((err = family_to_host(domain, &family)) != 0)
        return fail(err);
    if ((err = type_to_host(domain, type & ~flags, protocol, &host_type)) != 0)
        return fail(err);
    if (check(we_sock_open(family, host_type, &fd)) < 0)
        return -1;
    if ((flags & SOCK_NONBLOCK) && set_nonblocking(fd) < 0) {
        err = errno;
        close(fd);
        return fail(err);
    }
    return fd;
}

int socket(int domain, int type, int protocol)
{
    TRACED_RETURN(do_socket(domain, type, protocol), "%d, %#x, %d", domain,
                  type, protocol);
}

static int do_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    host_addr_t ha;
    uint32_t port;
    int err = host_addr_from_sockaddr(&ha, &port, addr, len);
    if (err != 0)
        return fail(err);
    return check(we_sock_bind(fd, &ha.desc, port));
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    TRACED_RETURN(do_bind(fd, addr, len), "%d, %p, %u", fd, (void *)addr, len);
}

static int do_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    host_addr_t ha;
    uint32_t port;
    int err = host_addr_from_sockaddr(&ha, &port, addr, len);
    if (err != 0)
        return fail(err);
    return check(we_sock_connect(fd, &ha.desc, port));
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    TRACED_RETURN(do_connect(fd, addr, len), "%d, %p, %u", fd, (void *)addr,
                  len);
}

int listen(int fd, int backlog)
{
    TRACED_RETURN(check(we_sock_listen(fd, backlog)), "%d, %d", fd, backlog);
}

static int do_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    __wasi_fd_t conn;

    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return fail(EINVAL);
    if (check(__wasi_sock_accept(fd,
                                 (flags & SOCK_NONBLOCK) ? __WASI_FDFLAGS_NONBLOCK : 0,
                                 &conn)) < 0)
        return -1;
    if (addr != NULL && len != NULL && getpeername(conn, addr, len) < 0) {
        // The connection exists even if the host cannot name its peer;
        // dropping it would lose the client, so report "no address" instead.
        *len = 0;
    }
    return conn;
}

int accept4(int fd, struct sockaddr *restrict addr, socklen_t *restrict len,
            int flags)
{
    TRACED_RETURN(do_accept4(fd, addr, len, flags), "%d, %p, %p, %#x", fd,
                  (void *)addr, (void *)len, flags);
}

int accept(int fd, struct sockaddr *restrict addr, socklen_t *restrict len)
{
    TRACED_RETURN(do_accept4(fd, addr, len, 0), "%d, %p, %p", fd, (void *)addr,
                  (void *)len);
}

static int do_shutdown(int fd, int how)
{
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return fail(EINVAL);
    // SHUT_* are defined as the WASI sdflags, which the host takes as is.
    return check(__wasi_sock_shutdown(fd, how));
}

int shutdown(int fd, int how)
{
    TRACED_RETURN(do_shutdown(fd, how), "%d, %d", fd, how);
}
