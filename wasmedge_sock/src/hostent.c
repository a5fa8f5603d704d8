/*
 * Host names: gethostbyname and h_errno, built on getaddrinfo; CPython's
 * socket module compiles its getnameinfo() wrapper only when one of the
 * gethostby* calls exists, and it gives socket.gethostbyname_ex() a working
 * answer. The socket ABI has no reverse lookup and WASI no host name, so
 * gethostbyaddr always reports HOST_NOT_FOUND and gethostname answers
 * "localhost": socket.getfqdn() (used by http.server and email) then falls
 * back to the name it was given, as it does for an unknown address.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "trace.h"

#define MAX_ADDRS 16

static int h_errno_value;

int *__h_errno_location(void)
{
    return &h_errno_value;
}

/* The result lives in static storage, as POSIX allows for this call. */
static struct {
    struct hostent he;
    char name[256];
    char *aliases[1];
    char *addr_list[MAX_ADDRS + 1];
    struct in_addr addrs[MAX_ADDRS];
} result;

static struct hostent *do_gethostbyname(const char *name)
{
    // One socket type, so each address is reported once.
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_CANONNAME};
    struct addrinfo *res, *ai;
    size_t n = 0;
    int err;

    if (name == NULL) {
        h_errno = HOST_NOT_FOUND;
        return NULL;
    }
    if ((err = getaddrinfo(name, NULL, &hints, &res)) != 0) {
        h_errno = err == EAI_NONAME ? HOST_NOT_FOUND
                  : err == EAI_AGAIN ? TRY_AGAIN
                                     : NO_RECOVERY;
        return NULL;
    }

    memset(&result, 0, sizeof(result));
    // Fall back to the given name when the host reports no canonical one.
    strncpy(result.name, res->ai_canonname && *res->ai_canonname ? res->ai_canonname : name,
            sizeof(result.name) - 1);
    for (ai = res; ai != NULL && n < MAX_ADDRS; ai = ai->ai_next) {
        result.addrs[n] = ((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
        result.addr_list[n] = (char *)&result.addrs[n];
        n++;
    }
    freeaddrinfo(res);

    result.he.h_name = result.name;
    result.he.h_aliases = result.aliases;
    result.he.h_addrtype = AF_INET;
    result.he.h_length = sizeof(struct in_addr);
    result.he.h_addr_list = result.addr_list;
    return &result.he;
}

struct hostent *gethostbyname(const char *name)
{
    struct hostent *he = do_gethostbyname(name);
    TRACE("gethostbyname(\"%s\") = %p h_errno %d\n", name ? name : "(null)",
          (void *)he, he ? 0 : h_errno);
    return he;
}

struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    (void)addr;
    TRACE("gethostbyaddr(len %u, type %d) = NULL h_errno HOST_NOT_FOUND\n", (unsigned)len, type);
    h_errno = HOST_NOT_FOUND;
    return NULL;
}

int gethostname(char *name, size_t len)
{
    static const char hostname[] = "localhost";
    if (name == NULL || len < sizeof(hostname)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(name, hostname, sizeof(hostname));
    return 0;
}
