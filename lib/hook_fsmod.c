/* Creating, removing, renaming, linking and truncating names. */
#include <errno.h>
#include <stdio.h>

#include "dirfds.h"
#include "guard.h"

/* A rename, judged or not, is counted for the descriptor path table, and
 * so is a link: a file the process made may have gained a name. */
#define TWO_HOOK(op, fd1, p1, fd2, p2, gate, call)                                                 \
	do {                                                                                       \
		int rc_;                                                                           \
		if (!ag__enter()) {                                                                \
			rc_ = call;                                                                \
		} else {                                                                           \
			int g_ = (gate);                                                           \
			rc_ = g_ < 0 ? -1 : call;                                                  \
			if (g_ >= 0 && rc_ == -1 && errno == EACCES)                               \
				explain_two(op, fd1, p1, fd2, p2);                                 \
			ag__leave();                                                               \
		}                                                                                  \
		if (((op) == AG_OP_RENAME || (op) == AG_OP_LINK) && rc_ == 0)                      \
			ag__fdpath_renamed();                                                      \
		return rc_;                                                                        \
	} while (0)

/* A rename needs the floor's leave at both ends; a link at its new name. */
static void explain_two(ag_op_t op, int fd1, const char *p1, int fd2, const char *p2)
{
	ag__floor_explain(op, fd2, p2);
	if (op == AG_OP_RENAME)
		ag__floor_explain(op, fd1, p1);
}

int truncate(const char *path, off_t length)
{
	PATH_HOOK(AG_OP_WRITE, AT_FDCWD, path, AG_RESOLVE_FOLLOW, REAL(truncate)(path, length));
}

int truncate64(const char *path, off64_t length)
{
	PATH_HOOK(AG_OP_WRITE, AT_FDCWD, path, AG_RESOLVE_FOLLOW, REAL(truncate64)(path, length));
}

int ftruncate(int fd, off_t length)
{
	FD_HOOK(AG_OP_WRITE, fd, REAL(ftruncate)(fd, length));
}

int ftruncate64(int fd, off64_t length)
{
	FD_HOOK(AG_OP_WRITE, fd, REAL(ftruncate64)(fd, length));
}

int unlink(const char *path)
{
	PATH_HOOK(AG_OP_DELETE, AT_FDCWD, path, 0, REAL(unlink)(path));
}

int unlinkat(int dirfd, const char *path, int flags)
{
	PATH_HOOK(AG_OP_DELETE, dirfd, path, 0, REAL(unlinkat)(dirfd, path, flags));
}

int rmdir(const char *path)
{
	PATH_HOOK(AG_OP_DELETE, AT_FDCWD, path, 0, REAL(rmdir)(path));
}

int remove(const char *path)
{
	PATH_HOOK(AG_OP_DELETE, AT_FDCWD, path, 0, REAL(remove)(path));
}

int rename(const char *from, const char *to)
{
	TWO_HOOK(AG_OP_RENAME, AT_FDCWD, from, AT_FDCWD, to,
		 ag__gate_rename(AT_FDCWD, from, AT_FDCWD, to, 0), REAL(rename)(from, to));
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	TWO_HOOK(AG_OP_RENAME, fromfd, from, tofd, to, ag__gate_rename(fromfd, from, tofd, to, 0),
		 REAL(renameat)(fromfd, from, tofd, to));
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags)
{
	TWO_HOOK(AG_OP_RENAME, fromfd, from, tofd, to,
		 ag__gate_rename(fromfd, from, tofd, to, flags),
		 REAL(renameat2)(fromfd, from, tofd, to, flags));
}

int link(const char *from, const char *to)
{
	TWO_HOOK(AG_OP_LINK, AT_FDCWD, from, AT_FDCWD, to,
		 ag__gate_link(AT_FDCWD, from, AT_FDCWD, to, 0), REAL(link)(from, to));
}

int linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
	TWO_HOOK(AG_OP_LINK, fromfd, from, tofd, to, ag__gate_link(fromfd, from, tofd, to, flags),
		 REAL(linkat)(fromfd, from, tofd, to, flags));
}

/* A symlink's target is only text until someone follows it, and following
 * is judged then: only the new name is a creation. */
int symlink(const char *target, const char *path)
{
	PATH_HOOK(AG_OP_CREATE, AT_FDCWD, path, 0, REAL(symlink)(target, path));
}

int symlinkat(const char *target, int dirfd, const char *path)
{
	PATH_HOOK(AG_OP_CREATE, dirfd, path, 0, REAL(symlinkat)(target, dirfd, path));
}

int mkdir(const char *path, mode_t mode)
{
	PATH_HOOK(AG_OP_CREATE, AT_FDCWD, path, 0, REAL(mkdir)(path, mode));
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	PATH_HOOK(AG_OP_CREATE, dirfd, path, 0, REAL(mkdirat)(dirfd, path, mode));
}

int mknod(const char *path, mode_t mode, dev_t dev)
{
	PATH_HOOK(AG_OP_CREATE, AT_FDCWD, path, 0, REAL(mknod)(path, mode, dev));
}

int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	PATH_HOOK(AG_OP_CREATE, dirfd, path, 0, REAL(mknodat)(dirfd, path, mode, dev));
}

/* Programs built against glibc before 2.33 still call these. */
int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev)
{
	PATH_HOOK(AG_OP_CREATE, AT_FDCWD, path, 0, REAL(__xmknod)(ver, path, mode, dev));
}

int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev)
{
	PATH_HOOK(AG_OP_CREATE, dirfd, path, 0, REAL(__xmknodat)(ver, dirfd, path, mode, dev));
}

int mkfifo(const char *path, mode_t mode)
{
	PATH_HOOK(AG_OP_CREATE, AT_FDCWD, path, 0, REAL(mkfifo)(path, mode));
}

int mkfifoat(int dirfd, const char *path, mode_t mode)
{
	PATH_HOOK(AG_OP_CREATE, dirfd, path, 0, REAL(mkfifoat)(dirfd, path, mode));
}
