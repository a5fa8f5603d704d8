/* Socket options, including the hTLS pass-through. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "abi.h"
#include "errors.h"
#include "sockfd.h"
#include "trace.h"
#include "wasmedge_sock.h"

/*
 * Every option below is an int on both sides. The host has no way to carry
 * struct-valued options (SO_LINGER, SO_RCVTIMEO, ...), so those are absent.
 *
 * A "hint" only tunes a socket that works the same without it: when the
 * runtime refuses to set it (timecraft answers ENOPROTOOPT for SO_REUSEADDR
 * and SO_KEEPALIVE, ENOTSUP for TCP_NODELAY), setsockopt still succeeds and
 * the trace says the option was refused. http.client, urllib3, asyncio and
 * socketserver all set one of them and would otherwise fail to start.
 */
typedef struct {
    int level, name;
    int32_t host_level, host_name;
    bool read_only, hint;
    const char *label;
} option_t;

static const option_t options[] = {
    {SOL_SOCKET, SO_REUSEADDR, WE_SOL_SOCKET, WE_SO_REUSEADDR, false, true, "SO_REUSEADDR"},
    {SOL_SOCKET, SO_ERROR, WE_SOL_SOCKET, WE_SO_ERROR, true, false, "SO_ERROR"},
    {SOL_SOCKET, SO_DONTROUTE, WE_SOL_SOCKET, WE_SO_DONTROUTE, false, false, "SO_DONTROUTE"},
    {SOL_SOCKET, SO_BROADCAST, WE_SOL_SOCKET, WE_SO_BROADCAST, false, false, "SO_BROADCAST"},
    {SOL_SOCKET, SO_SNDBUF, WE_SOL_SOCKET, WE_SO_SNDBUF, false, true, "SO_SNDBUF"},
    {SOL_SOCKET, SO_RCVBUF, WE_SOL_SOCKET, WE_SO_RCVBUF, false, true, "SO_RCVBUF"},
    {SOL_SOCKET, SO_KEEPALIVE, WE_SOL_SOCKET, WE_SO_KEEPALIVE, false, true, "SO_KEEPALIVE"},
    {SOL_SOCKET, SO_OOBINLINE, WE_SOL_SOCKET, WE_SO_OOBINLINE, false, false, "SO_OOBINLINE"},
    {SOL_SOCKET, SO_RCVLOWAT, WE_SOL_SOCKET, WE_SO_RCVLOWAT, false, false, "SO_RCVLOWAT"},
    {SOL_SOCKET, SO_ACCEPTCONN, WE_SOL_SOCKET, WE_SO_ACCEPTCONN, true, false, "SO_ACCEPTCONN"},
    {IPPROTO_TCP, TCP_NODELAY, WE_SOL_TCP, WE_TCP_NODELAY, false, true, "TCP_NODELAY"},
};

static const option_t *find_option(int level, int name)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (options[i].level == level && options[i].name == name)
            return &options[i];
    return NULL;
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
        // The fd's own file type answers without a host option round trip.
        if (socket_type_of(fd, &v) < 0)
            return -1;
    } else {
        if ((opt = find_option(level, name)) == NULL)
            return fail(ENOPROTOOPT);
        // The length is passed by value; only exactly 4 is accepted. SO_ERROR
        // is cleared by this read on timecraft, so its value is always
        // returned to the caller, never dropped.
        if (check(we_sock_getsockopt(fd, opt->host_level, opt->host_name, &v,
                                     (int32_t)sizeof(v))) < 0)
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

/*
 * The hTLS server name goes to the host verbatim, so a C string's terminating
 * NUL (len = sizeof("example.com")) would become part of the name the host
 * sends as SNI and checks the certificate against: drop trailing NULs. An
 * empty name is refused here; timecraft would end the whole run on it.
 */
static int set_htls(int fd, int name, const char *value, socklen_t len)
{
    if (name == HTLS_SERVER_NAME) {
        while (len > 0 && value[len - 1] == '\0')
            len--;
        if (len == 0)
            return fail(EINVAL);
    }
    return check(we_sock_setsockopt(fd, SOL_TIMECRAFT_HTLS, name, value, (int32_t)len));
}

static int do_setsockopt(int fd, int level, int name, const void *value,
                         socklen_t len)
{
    const option_t *opt;
    int32_t err;

    if (value == NULL)
        return fail(EFAULT);
    if (level == SOL_TIMECRAFT_HTLS)
        return set_htls(fd, name, value, len);
    if ((opt = find_option(level, name)) == NULL || opt->read_only)
        return fail(ENOPROTOOPT);
    if (len < sizeof(int))
        return fail(EINVAL);
    err = we_sock_setsockopt(fd, opt->host_level, opt->host_name, value,
                             sizeof(int32_t));
    if (opt->hint && (err == ENOPROTOOPT || err == ENOTSUP)) {
        TRACE("setsockopt(%d, %s): refused by the host (%s); ignored, it is only a hint\n",
              fd, opt->label, strerror(err));
        return 0;
    }
    return check(err);
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
    TRACED_RETURN(do_setsockopt(fd, level, name, value, len), "%d, %#x, %d, %p, %u",
                  fd, level, name, value, len);
}
