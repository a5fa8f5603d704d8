/*
 * Conversion between struct sockaddr and the host's 128-byte address form.
 */
#ifndef WASMEDGE_SOCK_ADDR_H
#define WASMEDGE_SOCK_ADDR_H

#include <stdint.h>
#include <sys/socket.h>

#include "abi.h"

/* An address buffer together with the descriptor that points at it. The
 * descriptor points into the same object, so use it where it was made. */
typedef struct {
    we_address_t desc;
    uint8_t buf[WE_ADDR_BUF_LEN];
} host_addr_t;

/* Prepares an empty buffer for the host to fill. */
void host_addr_init(host_addr_t *ha);

/* Encodes (addr, len) into ha and *port. Returns 0 or an errno value. */
int host_addr_from_sockaddr(host_addr_t *ha, uint32_t *port,
                            const struct sockaddr *addr, socklen_t len);

/*
 * Decodes what the host wrote into ha (plus its separate port) and stores it
 * in addr the way getsockname() does: at most *len bytes are copied and *len
 * is set to the full size. A NULL addr is allowed and stores nothing.
 * Returns 0 or an errno value.
 */
int host_addr_to_sockaddr(const host_addr_t *ha, uint32_t port,
                          struct sockaddr *addr, socklen_t *len);

#endif
