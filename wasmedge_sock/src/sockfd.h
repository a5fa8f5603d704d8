/*
 * What kind of socket a descriptor is, from its WASI file type.
 */
#ifndef WASMEDGE_SOCK_SOCKFD_H
#define WASMEDGE_SOCK_SOCKFD_H

/*
 * Stores SOCK_STREAM or SOCK_DGRAM in *type (wasi-libc defines them as the
 * WASI file types). Returns 0, or -1 with errno: ENOTSOCK for a descriptor
 * that is not a socket, the host's errno otherwise.
 */
int socket_type_of(int fd, int *type);

#endif
