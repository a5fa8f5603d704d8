/*
 * The WasmEdge v2 socket ABI as imported from the host: numbering, memory
 * layouts and the functions that standard WASI preview 1 lacks. sock_accept,
 * sock_send and sock_shutdown are standard and are reached through wasi-libc's
 * own <wasi/api.h> wrappers; sock_recv is imported here because its roflags
 * out-parameter must be 4 bytes wide (see we_sock_recv).
 *
 * Every integer out-parameter is a uint32_t: timecraft stores each of them
 * (fd, nread, nwritten, roflags, port, option value, count) as 4 bytes.
 */
#ifndef WASMEDGE_SOCK_ABI_H
#define WASMEDGE_SOCK_ABI_H

#include <stdint.h>

/* Address families. */
#define WE_AF_UNSPEC 0
#define WE_AF_INET 1
#define WE_AF_INET6 2
#define WE_AF_UNIX 3

/* Socket types. */
#define WE_SOCK_ANY 0
#define WE_SOCK_DGRAM 1
#define WE_SOCK_STREAM 2

/* Protocols, as used in getaddrinfo records. */
#define WE_PROTO_IP 0
#define WE_PROTO_TCP 1
#define WE_PROTO_UDP 2

/* Option levels and options. */
#define WE_SOL_SOCKET 0
#define WE_SOL_TCP 6
#define WE_SO_REUSEADDR 0
#define WE_SO_TYPE 1
#define WE_SO_ERROR 2
#define WE_SO_DONTROUTE 3
#define WE_SO_BROADCAST 4
#define WE_SO_SNDBUF 5
#define WE_SO_RCVBUF 6
#define WE_SO_KEEPALIVE 7
#define WE_SO_OOBINLINE 8
#define WE_SO_RCVLOWAT 10
#define WE_SO_ACCEPTCONN 13
#define WE_TCP_NODELAY 15

/*
 * getaddrinfo flags. Our ABI notes give only the record layout; these are
 * WasmEdge's own bit assignments, which the host must use as well.
 */
#define WE_AI_PASSIVE (1 << 0)
#define WE_AI_CANONNAME (1 << 1)
#define WE_AI_NUMERICHOST (1 << 2)
#define WE_AI_NUMERICSERV (1 << 3)
#define WE_AI_V4MAPPED (1 << 4)
#define WE_AI_ALL (1 << 5)
#define WE_AI_ADDRCONFIG (1 << 6)

/*
 * WasmEdge reports getaddrinfo failures with its own errnos beyond preview 1's
 * 0..76, one per EAI_* code. timecraft uses preview 1 errnos instead
 * (ECANCELED for a failed lookup, EINVAL for a bad service or a non-numeric
 * host under AI_NUMERICHOST, ENOTSUP for a bad family or type).
 */
#define WE_ERRNO_AI_ADDRFAMILY 77
#define WE_ERRNO_AI_AGAIN 78
#define WE_ERRNO_AI_BADFLAG 79
#define WE_ERRNO_AI_FAIL 80
#define WE_ERRNO_AI_FAMILY 81
#define WE_ERRNO_AI_MEMORY 82
#define WE_ERRNO_AI_NODATA 83
#define WE_ERRNO_AI_NONAME 84
#define WE_ERRNO_AI_SERVICE 85
#define WE_ERRNO_AI_SOCKTYPE 86
#define WE_ERRNO_AI_SYSTEM 87

/*
 * An address argument: a descriptor pointing at a buffer that holds the
 * family (u16 LE) followed by the address bytes or a NUL-terminated path.
 * The v2 form always uses a 128-byte buffer; the port travels separately.
 */
#define WE_ADDR_BUF_LEN 128
#define WE_UNIX_PATH_MAX 125

typedef struct {
    uint8_t *buf;
    uint32_t buf_len;
} we_address_t;

/* The address of a getaddrinfo result: data is the port (u16 big-endian)
 * followed by the 4 or 16 address bytes. timecraft writes only the low byte
 * of family. */
typedef struct {
    uint32_t family;
    uint32_t data_len;
    uint8_t *data;
} we_sockaddr_t;

typedef struct we_addrinfo {
    uint16_t flags;
    uint8_t family;
    uint8_t socktype;
    uint32_t protocol;
    uint32_t addr_len;
    we_sockaddr_t *addr;
    char *canonname;
    uint32_t canonname_len;
    struct we_addrinfo *next;
} we_addrinfo_t;

/* The ABI fixes these sizes; wasm32 pointers are 4 bytes. */
_Static_assert(sizeof(we_address_t) == 8, "address descriptor is 8 bytes");
_Static_assert(sizeof(we_sockaddr_t) == 12, "sockaddr record is 12 bytes");
_Static_assert(sizeof(we_addrinfo_t) == 28, "addrinfo record is 28 bytes");

#define WE_IMPORT(name) \
    __attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__(name)))

/* Every function returns a WASI errno (0 on success). */
/*
 * Preview 1's sock_recv. wasi-libc declares roflags as a 2-byte
 * __wasi_roflags_t, but timecraft stores 4 bytes there, which would overwrite
 * whatever follows (the byte count, with a 2-byte slot on the stack).
 */
int32_t we_sock_recv(int32_t fd, const void *iovs, uint32_t iovs_len,
                     int32_t riflags, uint32_t *nread, uint32_t *roflags)
    WE_IMPORT("sock_recv");
int32_t we_sock_open(int32_t family, int32_t type, int32_t *fd)
    WE_IMPORT("sock_open");
int32_t we_sock_bind(int32_t fd, we_address_t *addr, uint32_t port)
    WE_IMPORT("sock_bind");
int32_t we_sock_connect(int32_t fd, we_address_t *addr, uint32_t port)
    WE_IMPORT("sock_connect");
int32_t we_sock_listen(int32_t fd, int32_t backlog)
    WE_IMPORT("sock_listen");
int32_t we_sock_recv_from(int32_t fd, const void *iovs, uint32_t iovs_len,
                          we_address_t *addr, uint32_t riflags, uint32_t *port,
                          uint32_t *nread, uint32_t *roflags)
    WE_IMPORT("sock_recv_from");
int32_t we_sock_send_to(int32_t fd, const void *iovs, uint32_t iovs_len,
                        we_address_t *addr, int32_t port, uint32_t siflags,
                        uint32_t *nwritten)
    WE_IMPORT("sock_send_to");
/* value_len is passed by value and must be 4; nothing is written back to a
 * length location. */
int32_t we_sock_getsockopt(int32_t fd, int32_t level, int32_t option,
                           int32_t *value, int32_t value_len)
    WE_IMPORT("sock_getsockopt");
int32_t we_sock_setsockopt(int32_t fd, int32_t level, int32_t option,
                           const void *value, int32_t value_len)
    WE_IMPORT("sock_setsockopt");
int32_t we_sock_getlocaladdr(int32_t fd, we_address_t *addr, uint32_t *port)
    WE_IMPORT("sock_getlocaladdr");
int32_t we_sock_getpeeraddr(int32_t fd, we_address_t *addr, uint32_t *port)
    WE_IMPORT("sock_getpeeraddr");
int32_t we_sock_getaddrinfo(const char *name, uint32_t name_len,
                            const char *service, uint32_t service_len,
                            const we_addrinfo_t *hints, we_addrinfo_t **res,
                            uint32_t max_results, uint32_t *count)
    WE_IMPORT("sock_getaddrinfo");

#endif
