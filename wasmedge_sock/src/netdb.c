/* Name resolution through the host: getaddrinfo and friends. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "abi.h"
#include "errors.h"
#include "trace.h"

/* Results beyond this are dropped; "localhost" with no hints gives about six. */
#define MAX_RESULTS 32
/* Room for a port (2) and an IPv6 address (16). */
#define RESULT_DATA_LEN 18
/* Canonical names longer than this are cut. */
#define CANONNAME_MAX 256

/* The host-side records and the buffers they point to, allocated together. */
typedef struct {
    we_addrinfo_t info;
    we_sockaddr_t addr;
    uint8_t data[RESULT_DATA_LEN];
    char canonname[CANONNAME_MAX];
} host_result_t;

/* One result handed to the caller; freeaddrinfo frees it as one block. */
typedef struct {
    struct addrinfo ai;
    union {
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } addr;
} result_t;

static const struct {
    int posix, host;
} ai_flags[] = {
    {AI_PASSIVE, WE_AI_PASSIVE},         {AI_CANONNAME, WE_AI_CANONNAME},
    {AI_NUMERICHOST, WE_AI_NUMERICHOST}, {AI_NUMERICSERV, WE_AI_NUMERICSERV},
    {AI_V4MAPPED, WE_AI_V4MAPPED},       {AI_ALL, WE_AI_ALL},
    {AI_ADDRCONFIG, WE_AI_ADDRCONFIG},
};

static int hints_to_host(const struct addrinfo *hints, we_addrinfo_t *out)
{
    int flags;

    memset(out, 0, sizeof(*out));
    if (hints == NULL)
        return 0;

    flags = hints->ai_flags;
    for (size_t i = 0; i < sizeof(ai_flags) / sizeof(ai_flags[0]); i++) {
        if (flags & ai_flags[i].posix) {
            out->flags |= ai_flags[i].host;
            flags &= ~ai_flags[i].posix;
        }
    }
    if (flags != 0)
        return EAI_BADFLAGS;

    switch (hints->ai_family) {
    case AF_UNSPEC: out->family = WE_AF_UNSPEC; break;
    case AF_INET: out->family = WE_AF_INET; break;
    case AF_INET6: out->family = WE_AF_INET6; break;
    default: return EAI_FAMILY;
    }
    switch (hints->ai_socktype) {
    case 0: out->socktype = WE_SOCK_ANY; break;
    case SOCK_STREAM: out->socktype = WE_SOCK_STREAM; break;
    case SOCK_DGRAM: out->socktype = WE_SOCK_DGRAM; break;
    default: return EAI_SOCKTYPE;
    }
    switch (hints->ai_protocol) {
    case 0: out->protocol = WE_PROTO_IP; break;
    case IPPROTO_TCP: out->protocol = WE_PROTO_TCP; break;
    case IPPROTO_UDP: out->protocol = WE_PROTO_UDP; break;
    default: return EAI_SERVICE;
    }
    return 0;
}

/*
 * The host reports failures as WASI errnos. Unknown names are expected as
 * ENOENT; anything without an EAI_* counterpart becomes EAI_SYSTEM with errno
 * set, so that the caller still sees the host's reason.
 */
static int gai_error_from_host(int32_t err)
{
    switch (err) {
    case ENOENT:
    case EHOSTUNREACH:
        return EAI_NONAME;
    case EAGAIN:
        return EAI_AGAIN;
    case ENOMEM:
        return EAI_MEMORY;
    case EAFNOSUPPORT:
        return EAI_FAMILY;
    default:
        errno = err;
        return EAI_SYSTEM;
    }
}

/* Converts one host record; returns NULL (and skips it) for families and
 * types this side does not know. Sets *oom on allocation failure. */
static result_t *result_from_host(const host_result_t *hr, int *oom)
{
    const uint8_t *data = hr->addr.data;
    uint16_t port = (uint16_t)((data[0] << 8) | data[1]);
    int socktype, protocol;
    result_t *r;

    switch (hr->info.socktype) {
    case WE_SOCK_ANY: socktype = 0; break;
    case WE_SOCK_STREAM: socktype = SOCK_STREAM; break;
    case WE_SOCK_DGRAM: socktype = SOCK_DGRAM; break;
    default: return NULL;
    }
    switch (hr->info.protocol) {
    case WE_PROTO_IP: protocol = 0; break;
    case WE_PROTO_TCP: protocol = IPPROTO_TCP; break;
    case WE_PROTO_UDP: protocol = IPPROTO_UDP; break;
    default: return NULL;
    }
    if (hr->addr.family != WE_AF_INET && hr->addr.family != WE_AF_INET6)
        return NULL;

    if ((r = calloc(1, sizeof(*r))) == NULL) {
        *oom = 1;
        return NULL;
    }
    if (hr->addr.family == WE_AF_INET) {
        r->addr.in.sin_family = AF_INET;
        r->addr.in.sin_port = htons(port);
        memcpy(&r->addr.in.sin_addr, data + 2, sizeof(r->addr.in.sin_addr));
        r->ai.ai_family = AF_INET;
        r->ai.ai_addrlen = sizeof(r->addr.in);
    } else {
        r->addr.in6.sin6_family = AF_INET6;
        r->addr.in6.sin6_port = htons(port);
        memcpy(&r->addr.in6.sin6_addr, data + 2, sizeof(r->addr.in6.sin6_addr));
        r->ai.ai_family = AF_INET6;
        r->ai.ai_addrlen = sizeof(r->addr.in6);
    }
    r->ai.ai_addr = (struct sockaddr *)&r->addr;
    r->ai.ai_socktype = socktype;
    r->ai.ai_protocol = protocol;
    return r;
}

static int do_getaddrinfo(const char *node, const char *service,
                          const struct addrinfo *hints, struct addrinfo **res)
{
    we_addrinfo_t host_hints, *first;
    host_result_t *slots;
    struct addrinfo *head = NULL, **tail = &head;
    uint32_t count = 0;
    int32_t host_err;
    int err, oom = 0;

    if (res == NULL)
        return EAI_SYSTEM;
    *res = NULL;
    if (node == NULL && service == NULL)
        return EAI_NONAME;
    if ((err = hints_to_host(hints, &host_hints)) != 0)
        return err;

    if ((slots = calloc(MAX_RESULTS, sizeof(*slots))) == NULL)
        return EAI_MEMORY;
    for (size_t i = 0; i < MAX_RESULTS; i++) {
        slots[i].info.addr = &slots[i].addr;
        slots[i].info.addr_len = sizeof(slots[i].addr);
        slots[i].addr.data = slots[i].data;
        slots[i].addr.data_len = sizeof(slots[i].data);
        if (host_hints.flags & WE_AI_CANONNAME) {
            slots[i].info.canonname = slots[i].canonname;
            slots[i].info.canonname_len = sizeof(slots[i].canonname);
        }
        slots[i].info.next = i + 1 < MAX_RESULTS ? &slots[i + 1].info : NULL;
    }
    first = &slots[0].info;

    // A missing node or service is passed as an empty string.
    host_err = we_sock_getaddrinfo(node ? node : "", node ? strlen(node) : 0,
                                   service ? service : "",
                                   service ? strlen(service) : 0, &host_hints,
                                   &first, MAX_RESULTS, &count);
    if (host_err != 0) {
        free(slots);
        return gai_error_from_host(host_err);
    }

    for (uint32_t i = 0; i < count && i < MAX_RESULTS; i++) {
        result_t *r = result_from_host(&slots[i], &oom);
        if (oom)
            break;
        if (r == NULL)
            continue;
        *tail = &r->ai;
        tail = &r->ai.ai_next;
    }
    // POSIX puts the canonical name on the first result only.
    if (!oom && head != NULL && hints != NULL && (hints->ai_flags & AI_CANONNAME)) {
        const char *name = slots[0].canonname;
        size_t len = strnlen(name, CANONNAME_MAX - 1);
        if ((head->ai_canonname = strndup(name, len)) == NULL)
            oom = 1;
    }
    free(slots);

    if (oom) {
        freeaddrinfo(head);
        return EAI_MEMORY;
    }
    if (head == NULL)
        return EAI_NONAME;
    *res = head;
    return 0;
}

int getaddrinfo(const char *restrict node, const char *restrict service,
                const struct addrinfo *restrict hints,
                struct addrinfo **restrict res)
{
    int err = do_getaddrinfo(node, service, hints, res);
    TRACE("getaddrinfo(\"%s\", \"%s\", %p, %p) = %d %s\n", node ? node : "(null)",
          service ? service : "(null)", (void *)hints, (void *)res, err,
          err ? gai_strerror(err) : "");
    return err;
}

void freeaddrinfo(struct addrinfo *ai)
{
    // Each entry was allocated as one result_t whose first member is ai.
    while (ai != NULL) {
        struct addrinfo *next = ai->ai_next;
        free(ai->ai_canonname);
        free(ai);
        ai = next;
    }
}

const char *gai_strerror(int err)
{
    switch (err) {
    case 0: return "Success";
    case EAI_BADFLAGS: return "Invalid flags";
    case EAI_NONAME: return "Name does not resolve";
    case EAI_AGAIN: return "Temporary failure in name resolution";
    case EAI_FAIL: return "Non-recoverable failure in name resolution";
    case EAI_FAMILY: return "Unrecognized address family or invalid length";
    case EAI_SOCKTYPE: return "Unrecognized socket type";
    case EAI_SERVICE: return "Unrecognized service";
    case EAI_MEMORY: return "Out of memory";
    case EAI_SYSTEM: return "System error";
    case EAI_OVERFLOW: return "Overflow";
    default: return "Unknown error";
    }
}

/*
 * The ABI has no reverse lookup and no service database, so this answers
 * numerically, as if NI_NUMERICHOST and NI_NUMERICSERV were always given,
 * and fails when the caller insists on a name.
 */
static int do_getnameinfo(const struct sockaddr *addr, socklen_t addr_len,
                          char *host, socklen_t host_len, char *serv,
                          socklen_t serv_len, int flags)
{
    const void *ip;
    uint16_t port;

    if (addr == NULL)
        return EAI_FAMILY;
    if (addr->sa_family == AF_INET && addr_len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
        ip = &sin->sin_addr;
        port = ntohs(sin->sin_port);
    } else if (addr->sa_family == AF_INET6 &&
               addr_len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
        ip = &sin6->sin6_addr;
        port = ntohs(sin6->sin6_port);
    } else {
        return EAI_FAMILY;
    }

    if (host != NULL && host_len > 0) {
        if (flags & NI_NAMEREQD)
            return EAI_NONAME;
        if (inet_ntop(addr->sa_family, ip, host, host_len) == NULL)
            return EAI_OVERFLOW;
    }
    if (serv != NULL && serv_len > 0) {
        int n = snprintf(serv, serv_len, "%u", port);
        if (n < 0 || (socklen_t)n >= serv_len)
            return EAI_OVERFLOW;
    }
    return 0;
}

int getnameinfo(const struct sockaddr *restrict addr, socklen_t addr_len,
                char *restrict host, socklen_t host_len, char *restrict serv,
                socklen_t serv_len, int flags)
{
    int err = do_getnameinfo(addr, addr_len, host, host_len, serv, serv_len, flags);
    TRACE("getnameinfo(%p, %u, %p, %u, %p, %u, %#x) = %d %s\n", (void *)addr,
          addr_len, (void *)host, host_len, (void *)serv, serv_len, flags, err,
          err ? gai_strerror(err) : "");
    return err;
}
