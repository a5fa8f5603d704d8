#include "addr.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

/* Decoding builds the result in a sockaddr_storage, which the patched libc
 * makes large enough for every family we return. */
_Static_assert(sizeof(struct sockaddr_storage) >= sizeof(struct sockaddr_un),
               "sysroot lacks 0004-sockets.patch (sockaddr_storage too small)");

#define FAMILY_LEN 2
#define SUN_PATH_OFFSET offsetof(struct sockaddr_un, sun_path)

void host_addr_init(host_addr_t *ha)
{
    memset(ha->buf, 0, sizeof(ha->buf));
    ha->desc.buf = ha->buf;
    ha->desc.buf_len = sizeof(ha->buf);
}

static void put_family(host_addr_t *ha, uint16_t family)
{
    ha->buf[0] = (uint8_t)family;
    ha->buf[1] = (uint8_t)(family >> 8);
}

static int unix_from_sockaddr(host_addr_t *ha, const struct sockaddr_un *sun,
                              socklen_t len)
{
    size_t n = len - SUN_PATH_OFFSET;
    if (n > sizeof(sun->sun_path))
        return EINVAL;
    char *out = (char *)ha->buf + FAMILY_LEN;

    // An empty address would ask for Linux's autobind, which the ABI lacks.
    if (n == 0 || (sun->sun_path[0] == '\0' && n == 1))
        return EINVAL;

    if (sun->sun_path[0] == '\0') {
        // Abstract name: its length is given by len, not by a NUL, but the
        // ABI carries it as a C string after a '@', so it cannot hold a NUL.
        const char *name = sun->sun_path + 1;
        size_t name_len = n - 1;
        // Programs built for non-Linux systems (CPython among them) count a
        // terminating NUL in len; it is not part of the name.
        if (name[name_len - 1] == '\0')
            name_len--;
        if (name_len == 0 || memchr(name, '\0', name_len) != NULL)
            return EINVAL;
        if (1 + name_len > WE_UNIX_PATH_MAX)
            return ENAMETOOLONG;
        out[0] = '@';
        memcpy(out + 1, name, name_len);
    } else {
        size_t path_len = strnlen(sun->sun_path, n);
        if (path_len > WE_UNIX_PATH_MAX)
            return ENAMETOOLONG;
        // The host would read a leading '@' as an abstract name.
        if (sun->sun_path[0] == '@')
            return EINVAL;
        memcpy(out, sun->sun_path, path_len);
    }
    put_family(ha, WE_AF_UNIX);
    return 0;
}

int host_addr_from_sockaddr(host_addr_t *ha, uint32_t *port,
                            const struct sockaddr *addr, socklen_t len)
{
    host_addr_init(ha);
    *port = 0;
    if (addr == NULL)
        return EFAULT;
    if (len < sizeof(sa_family_t))
        return EINVAL;

    switch (addr->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
        if (len < offsetof(struct sockaddr_in, sin_addr) + sizeof(sin->sin_addr))
            return EINVAL;
        put_family(ha, WE_AF_INET);
        memcpy(ha->buf + FAMILY_LEN, &sin->sin_addr, sizeof(sin->sin_addr));
        *port = ntohs(sin->sin_port);
        return 0;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
        if (len < offsetof(struct sockaddr_in6, sin6_addr) + sizeof(sin6->sin6_addr))
            return EINVAL;
        put_family(ha, WE_AF_INET6);
        memcpy(ha->buf + FAMILY_LEN, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
        *port = ntohs(sin6->sin6_port);
        return 0;
    }
    case AF_UNIX:
        if (len < SUN_PATH_OFFSET)
            return EINVAL;
        return unix_from_sockaddr(ha, (const struct sockaddr_un *)addr, len);
    default:
        return EAFNOSUPPORT;
    }
}

static int unix_to_sockaddr(const host_addr_t *ha, struct sockaddr_un *sun,
                            socklen_t *len)
{
    const char *path = (const char *)ha->buf + FAMILY_LEN;
    size_t path_len = strnlen(path, WE_ADDR_BUF_LEN - FAMILY_LEN);

    sun->sun_family = AF_UNIX;
    if (path_len == 0) {
        // Unnamed socket: Linux reports just the family.
        *len = SUN_PATH_OFFSET;
    } else if (path[0] == '@') {
        // Abstract name: leading NUL, length given by len alone.
        if (path_len > sizeof(sun->sun_path))
            return ENAMETOOLONG;
        sun->sun_path[0] = '\0';
        memcpy(sun->sun_path + 1, path + 1, path_len - 1);
        *len = SUN_PATH_OFFSET + path_len;
    } else {
        if (path_len + 1 > sizeof(sun->sun_path))
            return ENAMETOOLONG;
        memcpy(sun->sun_path, path, path_len + 1);
        *len = SUN_PATH_OFFSET + path_len + 1;
    }
    return 0;
}

int host_addr_to_sockaddr(const host_addr_t *ha, uint32_t port,
                          struct sockaddr *addr, socklen_t *len)
{
    struct sockaddr_storage ss;
    socklen_t full_len;
    uint16_t family = (uint16_t)(ha->buf[0] | (ha->buf[1] << 8));

    memset(&ss, 0, sizeof(ss));
    switch (family) {
    case WE_AF_INET: {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        memcpy(&sin->sin_addr, ha->buf + FAMILY_LEN, sizeof(sin->sin_addr));
        full_len = sizeof(*sin);
        break;
    }
    case WE_AF_INET6: {
        // The ABI carries neither flow info nor scope id; both stay 0.
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        memcpy(&sin6->sin6_addr, ha->buf + FAMILY_LEN, sizeof(sin6->sin6_addr));
        full_len = sizeof(*sin6);
        break;
    }
    case WE_AF_UNIX: {
        int err = unix_to_sockaddr(ha, (struct sockaddr_un *)&ss, &full_len);
        if (err != 0)
            return err;
        break;
    }
    default:
        return EAFNOSUPPORT;
    }

    if (addr != NULL && len != NULL) {
        memcpy(addr, &ss, *len < full_len ? *len : full_len);
        *len = full_len;
    }
    return 0;
}
