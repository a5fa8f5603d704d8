/* Socket options, including the hTLS pass-through. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <wasi/api.h>

#include "abi.h"
#include "errors.h"
#include "trace.h"
#include "wasmedge_sock.h"

/* Every option below is an int on both sides. The host has no way to carry
 * struct-valued options (SO_LINGER, SO_RCVTIMEO, ...), so those are absent. */
typedef struct {
    int level, name;
    int32_t host_level, host_name;
    bool read_only;
} option_t;

static const option_t options[] = {
    {SOL_SOCKET, SO_REUSEADDR, WE_SOL_SOCKET, WE_SO_REUSEADDR, false},
    {SOL_SOCKET, SO_ERROR, WE_SOL_SOCKET, WE_SO_ERROR, true},
    {SOL_SOCKET, SO_DONTROUTE, WE_SOL_SOCKET, WE_SO_DONTROUTE, false},
    {SOL_SOCKET, SO_BROADCAST, WE_SOL_SOCKET, WE_SO_BROADCAST, false},
    {SOL_SOCKET, SO_SNDBUF, WE_SOL_SOCKET, WE_SO_SNDBUF, false},
    {SOL_SOCKET, SO_RCVBUF, WE_SOL_SOCKET, WE_SO_RCVBUF, false},
    {SOL_SOCKET, SO_KEEPALIVE, WE_SOL_SOCKET, WE_SO_KEEPALIVE, false},
    {SOL_SOCKET, SO_OOBINLINE, WE_SOL_SOCKET, WE_SO_OOBINLINE, false},
    {SOL_SOCKET, SO_RCVLOWAT, WE_SOL_SOCKET, WE_SO_RCVLOWAT, false},
    {SOL_SOCKET, SO_ACCEPTCONN, WE_SOL_SOCKET, WE_SO_ACCEPTCONN, true},
    {IPPROTO_TCP, TCP_NODELAY, WE_SOL_TCP, WE_TCP_NODELAY, false},
};

static const option_t *find_option(int level, int name)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (options[i].level == level && options[i].name == name)
            return &options[i];
    return NULL;
}

/* SOCK_STREAM and SOCK_DGRAM are defined as the WASI file types, so the fd's
 * own file type answers SO_TYPE without a host option round trip. */
static int get_type(int fd, int *type)
{
    __wasi_fdstat_t st;
    if (check(__wasi_fd_fdstat_get(fd, &st)) < 0)
        return -1;
    if (st.fs_filetype != SOCK_STREAM && st.fs_filetype != SOCK_DGRAM)
        return fail(ENOTSOCK);
    *type = st.fs_filetype;
    return 0;
}

static int do_getsockopt(int fd, int level, int name, void *value,
                         socklen_t *len)
{
    const option_t *opt;
    int32_t v;

    if (value == NULL || len == NULL)
        return fail(EFAULT);
    if (*len < sizeof(int))
        return fail(EINVAL);
    if (level == SOL_SOCKET && name == SO_TYPE) {
        if (get_type(fd, &v) < 0)
            return -1;
    } else {
        if ((opt = find_option(level, name)) == NULL)
            return fail(ENOPROTOOPT);
        if (check(we_sock_getsockopt(fd, opt->host_level, opt->host_name, &v,
                                     sizeof(v))) < 0)
            return -1;
    }
    *(int *)value = v;
    *len = sizeof(int);
    return 0;
}

int getsockopt(int fd, int level, int name, void *restrict value,
               socklen_t *restrict len)
{
    TRACED_RETURN(do_getsockopt(fd, level, name, value, len), "%d, %#x, %d, %p, %p",
                  fd, level, name, value, (void *)len);
}

static int do_setsockopt(int fd, int level, int name, const void *value,
                         socklen_t len)
{
    const option_t *opt;

    if (value == NULL)
        return fail(EFAULT);
    // hTLS options are defined by the host; hand them over untouched.
    if (level == SOL_TIMECRAFT_HTLS)
        return check(we_sock_setsockopt(fd, level, name, value, (int32_t)len));
    if ((opt = find_option(level, name)) == NULL || opt->read_only)
        return fail(ENOPROTOOPT);
    if (len < sizeof(int))
        return fail(EINVAL);
    return check(we_sock_setsockopt(fd, opt->host_level, opt->host_name, value,
                                    sizeof(int32_t)));
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
    TRACED_RETURN(do_setsockopt(fd, level, name, value, len), "%d, %#x, %d, %p, %u",
                  fd, level, name, value, len);
}
