/* Closing descriptors. Nothing here is judged: each close is counted for
 * its descriptor number after the number is free, so that the directory
 * table (lib/core/dirfds.c) never answers for a number with the directory
 * it held before. The count is one atomic add; errno is the call's own. */
#include <dirent.h>
#include <stdio.h>

#include "dirfds.h"
#include "guard.h"
#include "rawsys.h"
#include "str.h"

/* Tells the table every close is counted (lib/core/dirfds.c). */
const bool ag__closes_counted = true;

AG_HOT_TEXT int close(int fd)
{
	int rc = REAL(close)(fd);
	ag__dirfd_closed(fd);
	return rc;
}

AG_HOT_TEXT int __close(int fd)
{
	int rc = REAL(__close)(fd);
	ag__dirfd_closed(fd);
	return rc;
}

/* close_range and closefrom came with glibc 2.34: before it a program can
 * only reach these through a weak symbol, and the kernel does the work. */
static int raw_close_range(unsigned int first, unsigned int last, int flags)
{
	long rc = ag_raw6(SYS_close_range, first, last, flags, 0, 0, 0);
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return 0;
}

AG_HOT_TEXT int close_range(unsigned int first, unsigned int last, int flags)
{
	int rc = REAL(close_range) ? REAL(close_range)(first, last, flags)
				   : raw_close_range(first, last, flags);
	ag__dirfd_closed_all();
	return rc;
}

AG_HOT_TEXT void closefrom(int lowfd)
{
	if (REAL(closefrom))
		REAL(closefrom)(lowfd);
	else
		raw_close_range((unsigned)lowfd, ~0u, 0);
	ag__dirfd_closed_all();
}

AG_HOT_TEXT int dup2(int oldfd, int newfd)
{
	int rc = REAL(dup2)(oldfd, newfd);
	ag__dirfd_closed(newfd);
	return rc;
}

AG_HOT_TEXT int __dup2(int oldfd, int newfd)
{
	int rc = REAL(__dup2)(oldfd, newfd);
	ag__dirfd_closed(newfd);
	return rc;
}

AG_HOT_TEXT int dup3(int oldfd, int newfd, int flags)
{
	int rc = REAL(dup3)(oldfd, newfd, flags);
	ag__dirfd_closed(newfd);
	return rc;
}

/* The stream's descriptor is read before it is closed, counted after.
 * glibc declares dir non-null but answers EINVAL for a null one. */
int closedir(DIR *dir)
{
	DIR *d = dir;
	__asm__("" : "+r"(d)); /* so the compiler keeps the test */
	int fd = d ? dirfd(d) : -1;
	int rc = REAL(closedir)(dir);
	ag__dirfd_closed(fd);
	return rc;
}

int fclose(FILE *stream)
{
	int fd = stream ? stream->_fileno : -1; /* fileno() would set errno */
	int rc = REAL(fclose)(stream);
	ag__dirfd_closed(fd);
	return rc;
}

int _IO_fclose(FILE *stream)
{
	int fd = stream ? stream->_fileno : -1; /* fileno() would set errno */
	int rc = REAL(_IO_fclose)(stream);
	ag__dirfd_closed(fd);
	return rc;
}
