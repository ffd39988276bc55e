/* Where a directory descriptor points, without a readlink per call. */
#ifndef AG_DIRFDS_H
#define AG_DIRFDS_H

#include <sys/types.h>

/* ag_fd_path for a descriptor that holds a directory, answered from a
 * table kept right by counting every close libc makes (see dirfds.c for
 * what that gives up). */
ssize_t ag__dirfd_path(int fd, char *out, size_t outsz);

/* After fd was closed, or replaced (dup2 onto it): what was read about
 * that number is no longer trusted. _all: after closes of many numbers. */
void ag__dirfd_closed(int fd);
void ag__dirfd_closed_all(void);

#endif
