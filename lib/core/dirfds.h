/* Where a descriptor points, without a readlink per call. */
#ifndef AG_DIRFDS_H
#define AG_DIRFDS_H

#include <stdbool.h>
#include <sys/types.h>

/* ag_fd_path, remembered: where every close libc makes is counted (the
 * preload), for any descriptor above 2 until its number is closed or
 * anything is renamed; elsewhere for directories, checked against their
 * identity. See dirfds.c for what that gives up. */
ssize_t ag__fdpath(int fd, char *out, size_t outsz);
/* The same; *made tells whether the entry is one ag__fdpath_known stored
 * and the counts still stand: the descriptor holds the very file this
 * process created, under its one name (a link through libc counts as a
 * rename and ends the entry). */
ssize_t ag__fdpath_made(int fd, char *out, size_t outsz, bool *made);

/* A descriptor just made for a path proven beforehand (a file created in
 * the directory that was resolved): stored without a readlink. r0 is
 * ag__fdpath_renames() read before the path was proven (which also starts
 * the counting of closes and renames, if nothing had). */
void ag__fdpath_known(int fd, const char *path, size_t len, unsigned r0);
unsigned ag__fdpath_renames(void);

/* After fd was closed, or replaced (dup2 onto it): what was read about
 * that number is no longer trusted. _all: after closes of many numbers. */
void ag__dirfd_closed(int fd);
void ag__dirfd_closed_all(void);
/* After a rename (no path read so far is trusted) or a link (a file the
 * process made may have another name now). */
void ag__fdpath_renamed(void);
/* In a fork child: the table's owner is to be found again. */
void ag__fdpath_forked(void);

#endif
