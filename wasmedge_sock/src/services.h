/*
 * The built-in table of well-known services (IANA port assignments). WASI
 * gives a guest no /etc/services and the socket ABI has no service lookup,
 * so getservbyname, getservbyport and getnameinfo answer from this table.
 */
#ifndef WASMEDGE_SOCK_SERVICES_H
#define WASMEDGE_SOCK_SERVICES_H

#include <stdint.h>

/* The transport protocols a service is assigned on, as a bit set. */
#define SERVICE_TCP 1u
#define SERVICE_UDP 2u

typedef struct {
    const char *name;
    /* NULL-terminated; NULL when the service has no other names. */
    const char *const *aliases;
    uint16_t port; /* host byte order */
    unsigned protocols;
} service_t;

/*
 * The service with this name (or alias) on one of the protocols in the set;
 * NULL when there is none. Names are matched exactly, as glibc does.
 */
const service_t *service_by_name(const char *name, unsigned protocols);

/* The service on this port (host byte order) and one of the protocols; NULL when none. */
const service_t *service_by_port(uint16_t port, unsigned protocols);

/*
 * The protocol set a protocol name stands for: "tcp", "udp", or NULL for
 * either; 0 for any other name.
 */
unsigned service_protocols_named(const char *proto);

#endif
