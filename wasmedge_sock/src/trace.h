/*
 * Call tracing to stderr, compiled in with -DWASMEDGE_SOCK_TRACE (make
 * TRACE=1). When it is off the format and arguments are still type-checked
 * but no code is emitted.
 */
#ifndef WASMEDGE_SOCK_TRACE_H
#define WASMEDGE_SOCK_TRACE_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef WASMEDGE_SOCK_TRACE
#define TRACE_ENABLED 1
#else
#define TRACE_ENABLED 0
#endif

#define TRACE(...)                                                             \
    do {                                                                       \
        if (TRACE_ENABLED)                                                     \
            fprintf(stderr, "wasmedge_sock: " __VA_ARGS__);                    \
    } while (0)

/*
 * Evaluates a call once, traces "name(args) = result [error]" and returns the
 * result. errno is saved around the trace because stdio may change it.
 */
#define TRACED_RETURN(call, fmt, ...)                                          \
    do {                                                                       \
        long traced_result_ = (long)(call);                                    \
        int traced_errno_ = errno;                                             \
        TRACE("%s(" fmt ") = %ld%s%s\n", __func__, __VA_ARGS__,                \
              traced_result_, traced_result_ < 0 ? " " : "",                   \
              traced_result_ < 0 ? strerror(traced_errno_) : "");              \
        errno = traced_errno_;                                                 \
        return traced_result_;                                                 \
    } while (0)

#endif
