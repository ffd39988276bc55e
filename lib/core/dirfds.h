/* Where a directory descriptor points, without a readlink per call. */
#ifndef AG_DIRFDS_H
#define AG_DIRFDS_H

#include <sys/types.h>

/* ag_fd_path for a descriptor that holds a directory, answered from a
 * table checked against the directory's identity (see dirfds.c for what
 * that gives up: a directory renamed by another process after it was
 * first looked up keeps its old path). */
ssize_t ag__dirfd_path(int fd, char *out, size_t outsz);

#endif
