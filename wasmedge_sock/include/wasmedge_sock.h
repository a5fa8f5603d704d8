/*
 * Public extras of libwasmedge_sock.
 *
 * The POSIX socket calls themselves are declared by the (patched) wasi-libc
 * headers <sys/socket.h> and <netdb.h>; this header only adds what has no
 * POSIX spelling.
 */
#ifndef WASMEDGE_SOCK_H
#define WASMEDGE_SOCK_H

/*
 * Host TLS offload (hTLS). After creating (and usually connecting) a TCP
 * socket, call
 *     setsockopt(fd, SOL_TIMECRAFT_HTLS, HTLS_SERVER_NAME, name, strlen(name))
 * before the first send/recv/poll; from then on the host runs a TLS client on
 * the connection and the guest reads and writes plaintext. The level spells
 * "time" in ASCII.
 */
#define SOL_TIMECRAFT_HTLS 0x74696d65
#define HTLS_SERVER_NAME 1

#endif
