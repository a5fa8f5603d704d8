/* Local and peer addresses of a socket. */
#include <sys/socket.h>

#include "abi.h"
#include "addr.h"
#include "errors.h"
#include "trace.h"

typedef int32_t (*query_t)(int32_t fd, we_address_t *addr, uint32_t *port);

static int query_name(query_t query, int fd, struct sockaddr *addr,
                      socklen_t *len)
{
    host_addr_t ha;
    uint32_t port = 0;
    int err;

    if (addr == NULL || len == NULL)
        return fail(EFAULT);
    host_addr_init(&ha);
    if (check(query(fd, &ha.desc, &port)) < 0)
        return -1;
    if ((err = host_addr_to_sockaddr(&ha, port, addr, len)) != 0)
        return fail(err);
    return 0;
}

int getsockname(int fd, struct sockaddr *restrict addr, socklen_t *restrict len)
{
    TRACED_RETURN(query_name(we_sock_getlocaladdr, fd, addr, len), "%d, %p, %p",
                  fd, (void *)addr, (void *)len);
}

int getpeername(int fd, struct sockaddr *restrict addr, socklen_t *restrict len)
{
    TRACED_RETURN(query_name(we_sock_getpeeraddr, fd, addr, len), "%d, %p, %p",
                  fd, (void *)addr, (void *)len);
}
