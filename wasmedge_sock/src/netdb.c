/* Name resolution through the host: getaddrinfo and friends. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "abi.h"
#include "errors.h"
#include "services.h"
#include "trace.h"

/* Results beyond this are dropped; "localhost" gives one or two addresses. */
#define MAX_RESULTS 32
/* timecraft answers EINVAL to max_res_len 1 (and 0). */
_Static_assert(MAX_RESULTS > 1, "the host refuses a result list of length 1");
/* Room for a port (2) and an IPv6 address (16). */
#define RESULT_DATA_LEN 18
/* Canonical names longer than this are cut. */
#define CANONNAME_MAX 256
/*
 * What each record holds before the call in the fields timecraft never writes
 * (socktype, protocol): values no host reports, so a field that still holds
 * one after the call was left alone and is completed from the hints. WasmEdge
 * fills them from the system resolver, and its values are kept.
 */
#define UNSET_SOCKTYPE 0xff
#define UNSET_PROTOCOL 0xffffffffu

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

/* The hints as POSIX values, checked, with absent hints as all zero. */
typedef struct {
    int flags, family, socktype, protocol;
} request_t;

static int hints_to_host(const struct addrinfo *hints, request_t *req,
                         we_addrinfo_t *out)
{
    int flags;

    memset(out, 0, sizeof(*out));
    memset(req, 0, sizeof(*req));
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
    if ((hints->ai_socktype == SOCK_STREAM && hints->ai_protocol == IPPROTO_UDP) ||
        (hints->ai_socktype == SOCK_DGRAM && hints->ai_protocol == IPPROTO_TCP))
        return EAI_SOCKTYPE;
    req->flags = hints->ai_flags;
    req->family = hints->ai_family;
    req->socktype = hints->ai_socktype;
    req->protocol = hints->ai_protocol;
    return 0;
}

static int is_numeric_host(const char *node)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, node, buf) == 1 || inet_pton(AF_INET6, node, buf) == 1;
}

/*
 * The EAI_* code for a host failure. timecraft gives ECANCELED when a lookup
 * fails and a bare EINVAL both for a bad service and for a name refused by
 * AI_NUMERICHOST, so the request tells which; WasmEdge has an errno per EAI_*
 * code. Anything else becomes EAI_SYSTEM with errno set, so that the caller
 * still sees the host's reason.
 */
static int gai_error_from_host(int32_t err, const char *node, const char *service,
                               const request_t *req)
{
    switch (err) {
    case ECANCELED:
    case ENOENT:
    case EHOSTUNREACH:
    case WE_ERRNO_AI_NONAME:
    case WE_ERRNO_AI_NODATA:
    case WE_ERRNO_AI_ADDRFAMILY:
        return EAI_NONAME;
    case EINVAL:
        if ((req->flags & AI_NUMERICHOST) && *node != '\0' && !is_numeric_host(node))
            return EAI_NONAME;
        return *service != '\0' ? EAI_SERVICE : EAI_NONAME;
    case ENOTSUP:
    case WE_ERRNO_AI_SOCKTYPE:
        return EAI_SOCKTYPE;
    case EAGAIN:
    case WE_ERRNO_AI_AGAIN:
        return EAI_AGAIN;
    case ENOMEM:
    case WE_ERRNO_AI_MEMORY:
        return EAI_MEMORY;
    case EAFNOSUPPORT:
    case WE_ERRNO_AI_FAMILY:
        return EAI_FAMILY;
    case WE_ERRNO_AI_BADFLAG:
        return EAI_BADFLAGS;
    case WE_ERRNO_AI_FAIL:
        return EAI_FAIL;
    case WE_ERRNO_AI_SERVICE:
        return EAI_SERVICE;
    case WE_ERRNO_AI_SYSTEM:
        errno = EIO;
        return EAI_SYSTEM;
    default:
        errno = err;
        return EAI_SYSTEM;
    }
}

/* One (socket type, protocol) pair a result is reported with. */
typedef struct {
    int socktype, protocol;
} kind_t;

static int protocol_for(int socktype)
{
    return socktype == SOCK_STREAM ? IPPROTO_TCP : socktype == SOCK_DGRAM ? IPPROTO_UDP : 0;
}

/*
 * The kinds one host record stands for. Values the host wrote are kept (a
 * type this side does not know, such as raw, gives none); fields it left
 * alone are completed from the hints: with no type asked for, each address is
 * reported once as a stream and once as a datagram socket, as on Linux.
 */
static size_t kinds_of(const host_result_t *hr, const request_t *req, kind_t kinds[2])
{
    int socktype, protocol;

    switch (hr->info.socktype) {
    case UNSET_SOCKTYPE:
    case WE_SOCK_ANY:
        socktype = req->socktype;
        if (socktype == 0 && req->protocol == IPPROTO_TCP)
            socktype = SOCK_STREAM;
        if (socktype == 0 && req->protocol == IPPROTO_UDP)
            socktype = SOCK_DGRAM;
        break;
    case WE_SOCK_STREAM: socktype = SOCK_STREAM; break;
    case WE_SOCK_DGRAM: socktype = SOCK_DGRAM; break;
    default: return 0;
    }
    switch (hr->info.protocol) {
    case UNSET_PROTOCOL:
    case WE_PROTO_IP: protocol = req->protocol; break;
    case WE_PROTO_TCP: protocol = IPPROTO_TCP; break;
    case WE_PROTO_UDP: protocol = IPPROTO_UDP; break;
    default: return 0;
    }
    if (socktype == 0) {
        kinds[0] = (kind_t){SOCK_STREAM, IPPROTO_TCP};
        kinds[1] = (kind_t){SOCK_DGRAM, IPPROTO_UDP};
        return 2;
    }
    kinds[0] = (kind_t){socktype, protocol ? protocol : protocol_for(socktype)};
    return 1;
}

/* Builds one result for an address the host returned; NULL when out of memory. */
static result_t *new_result(uint8_t family, const uint8_t *data, kind_t kind)
{
    uint16_t port = (uint16_t)((data[0] << 8) | data[1]);
    result_t *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    if (family == WE_AF_INET) {
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
    r->ai.ai_socktype = kind.socktype;
    r->ai.ai_protocol = kind.protocol;
    return r;
}

static void prepare_slots(host_result_t *slots, int canonname)
{
    for (size_t i = 0; i < MAX_RESULTS; i++) {
        slots[i].info.socktype = UNSET_SOCKTYPE;
        slots[i].info.protocol = UNSET_PROTOCOL;
        slots[i].info.addr = &slots[i].addr;
        slots[i].info.addr_len = sizeof(slots[i].addr);
        slots[i].addr.data = slots[i].data;
        slots[i].addr.data_len = sizeof(slots[i].data);
        if (canonname) {
            slots[i].info.canonname = slots[i].canonname;
            slots[i].info.canonname_len = sizeof(slots[i].canonname);
        }
        slots[i].info.next = i + 1 < MAX_RESULTS ? &slots[i + 1].info : NULL;
    }
}

/* Appends the results for the host's records to *tail; returns 0 or EAI_MEMORY. */
static int convert_results(const host_result_t *slots, uint32_t count,
                           const request_t *req, struct addrinfo ***tail)
{
    for (uint32_t i = 0; i < count && i < MAX_RESULTS; i++) {
        // The family comes from the address: timecraft writes only its low
        // byte and leaves the record's own family field alone.
        uint8_t family = (uint8_t)slots[i].addr.family;
        kind_t kinds[2];
        size_t n;

        if (family != WE_AF_INET && family != WE_AF_INET6)
            continue;
        if (req->family != AF_UNSPEC &&
            req->family != (family == WE_AF_INET ? AF_INET : AF_INET6))
            continue;
        n = kinds_of(&slots[i], req, kinds);
        for (size_t k = 0; k < n; k++) {
            result_t *r = new_result(family, slots[i].data, kinds[k]);
            if (r == NULL)
                return EAI_MEMORY;
            **tail = &r->ai;
            *tail = &r->ai.ai_next;
        }
    }
    return 0;
}

static int do_getaddrinfo(const char *node, const char *service,
                          const struct addrinfo *hints, struct addrinfo **res)
{
    we_addrinfo_t host_hints, *first;
    request_t req;
    host_result_t *slots;
    struct addrinfo *head = NULL, **tail = &head;
    uint32_t count = 0;
    int32_t host_err;
    int err;

    if (res == NULL)
        return EAI_SYSTEM;
    *res = NULL;
    // A missing node or service is passed as an empty string.
    node = node ? node : "";
    service = service ? service : "";
    if (*node == '\0' && *service == '\0')
        return EAI_NONAME;
    if ((err = hints_to_host(hints, &req, &host_hints)) != 0)
        return err;

    if ((slots = calloc(MAX_RESULTS, sizeof(*slots))) == NULL)
        return EAI_MEMORY;
    prepare_slots(slots, req.flags & AI_CANONNAME);
    first = &slots[0].info;

    host_err = we_sock_getaddrinfo(node, strlen(node), service, strlen(service),
                                   &host_hints, &first, MAX_RESULTS, &count);
    if (host_err != 0) {
        free(slots);
        return gai_error_from_host(host_err, node, service, &req);
    }

    err = convert_results(slots, count, &req, &tail);
    // POSIX puts the canonical name on the first result only. timecraft never
    // reports one; the name asked for is then the best answer there is.
    if (err == 0 && head != NULL && (req.flags & AI_CANONNAME)) {
        const char *name = slots[0].canonname;
        size_t len = strnlen(name, CANONNAME_MAX - 1);
        if (len == 0 || slots[0].info.canonname_len == 0) {
            name = node;
            len = strlen(node);
        }
        if ((head->ai_canonname = strndup(name, len)) == NULL)
            err = EAI_MEMORY;
    }
    free(slots);

    if (err != 0) {
        freeaddrinfo(head);
        return err;
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
 * The ABI has no reverse lookup, so the host is answered numerically, as if
 * NI_NUMERICHOST were always given, and the call fails when the caller
 * insists on a name. The service is named from the built-in table unless
 * NI_NUMERICSERV is given, as on Linux; a port it does not know stays a
 * number.
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
        const service_t *known = NULL;
        int n;
        if (!(flags & NI_NUMERICSERV))
            known = service_by_port(port, (flags & NI_DGRAM) ? SERVICE_UDP : SERVICE_TCP);
        n = known ? snprintf(serv, serv_len, "%s", known->name)
                  : snprintf(serv, serv_len, "%u", port);
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
