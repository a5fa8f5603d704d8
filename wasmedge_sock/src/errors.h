/*
 * Error reporting. wasi-libc defines every E* constant as the matching WASI
 * errno, so a host error code is already a valid errno value and needs no
 * translation.
 */
#ifndef WASMEDGE_SOCK_ERRORS_H
#define WASMEDGE_SOCK_ERRORS_H

#include <errno.h>
#include <stdint.h>

/* Sets errno and returns -1, the POSIX failure convention. */
static inline int fail(int err)
{
    errno = err;
    return -1;
}

/* Turns a host result into the POSIX convention: 0, or -1 with errno. */
static inline int check(int32_t host_errno)
{
    return host_errno == 0 ? 0 : fail(host_errno);
}

#endif
