#include "sockfd.h"

#include <sys/socket.h>
#include <wasi/api.h>

#include "errors.h"

int socket_type_of(int fd, int *type)
{
    __wasi_fdstat_t st;
    if (check(__wasi_fd_fdstat_get(fd, &st)) < 0)
        return -1;
    if (st.fs_filetype != SOCK_STREAM && st.fs_filetype != SOCK_DGRAM)
        return fail(ENOTSOCK);
    *type = st.fs_filetype;
    return 0;
}
