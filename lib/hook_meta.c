/* Mode, owner, times and extended attributes: the policy's "chmod". */
#include <errno.h>
#include <linux/fs.h>
#include <stdarg.h>

#include "guard.h"

#define META_HOOK(dirfd, path, rflags, call) PATH_HOOK(AG_OP_CHMOD, dirfd, path, rflags, call)
#define META_FD_HOOK(fd, call) FD_HOOK(AG_OP_CHMOD, fd, call)
#define FOLLOW AG_RESOLVE_FOLLOW
#define AT_FOLLOW(flags) (((flags) & AT_SYMLINK_NOFOLLOW) ? 0 : FOLLOW)

int chmod(const char *path, mode_t mode)
{
	META_HOOK(AT_FDCWD, path, FOLLOW, REAL(chmod)(path, mode));
}

int lchmod(const char *path, mode_t mode)
{
	META_HOOK(AT_FDCWD, path, 0, REAL(lchmod)(path, mode));
}

int fchmod(int fd, mode_t mode)
{
	META_FD_HOOK(fd, REAL(fchmod)(fd, mode));
}

int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	META_HOOK(dirfd, path, AT_FOLLOW(flags), REAL(fchmodat)(dirfd, path, mode, flags));
}

int chown(const char *path, uid_t uid, gid_t gid)
{
	META_HOOK(AT_FDCWD, path, FOLLOW, REAL(chown)(path, uid, gid));
}

int lchown(const char *path, uid_t uid, gid_t gid)
{
	META_HOOK(AT_FDCWD, path, 0, REAL(lchown)(path, uid, gid));
}

int fchown(int fd, uid_t uid, gid_t gid)
{
	META_FD_HOOK(fd, REAL(fchown)(fd, uid, gid));
}

int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	META_HOOK(dirfd, path, AT_FOLLOW(flags), REAL(fchownat)(dirfd, path, uid, gid, flags));
}

int utime(const char *path, const struct utimbuf *times)
{
	META_HOOK(AT_FDCWD, path, FOLLOW, REAL(utime)(path, times));
}

int utimes(const char *path, const struct timeval times[2])
{
	META_HOOK(AT_FDCWD, path, FOLLOW, REAL(utimes)(path, times));
}

int lutimes(const char *path, const struct timeval times[2])
{
	META_HOOK(AT_FDCWD, path, 0, REAL(lutimes)(path, times));
}

int futimes(int fd, const struct timeval times[2])
{
	META_FD_HOOK(fd, REAL(futimes)(fd, times));
}

/* With a NULL path these act on dirfd itself. */
int futimesat(int dirfd, const char *path, const struct timeval times[2])
{
	if (!ag__nullable(path))
		META_FD_HOOK(dirfd, REAL(futimesat)(dirfd, path, times));
	META_HOOK(dirfd, path, FOLLOW, REAL(futimesat)(dirfd, path, times));
}

int utimensat(int dirfd, const char *path, const struct timespec times[2], int flags)
{
	if (!ag__nullable(path))
		META_FD_HOOK(dirfd, REAL(utimensat)(dirfd, path, times, flags));
	META_HOOK(dirfd, path, AT_FOLLOW(flags), REAL(utimensat)(dirfd, path, times, flags));
}

int futimens(int fd, const struct timespec times[2])
{
	META_FD_HOOK(fd, REAL(futimens)(fd, times));
}

int setxattr(const char *path, const char *name, const void *value, size_t size, int flags)
{
	META_HOOK(AT_FDCWD, path, FOLLOW, REAL(setxattr)(path, name, value, size, flags));
}

int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)
{
	META_HOOK(AT_FDCWD, path, 0, REAL(lsetxattr)(path, name, value, size, flags));
}

int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)
{
	META_FD_HOOK(fd, REAL(fsetxattr)(fd, name, value, size, flags));
}

int removexattr(const char *path, const char *name)
{
	META_HOOK(AT_FDCWD, path, FOLLOW, REAL(removexattr)(path, name));
}

int lremovexattr(const char *path, const char *name)
{
	META_HOOK(AT_FDCWD, path, 0, REAL(lremovexattr)(path, name));
}

int fremovexattr(int fd, const char *name)
{
	META_FD_HOOK(fd, REAL(fremovexattr)(fd, name));
}

/* chattr: inode flags (immutable, append-only, no-atime, ...) and the
 * extended fsxattr flags are set through the descriptor with ioctl; they
 * change what may be done to the file, so they are judged as its mode is.
 * Every other request passes untouched, at the cost of a comparison. The
 * kernel reads the request as 32 bits: so is it compared here. */
int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (ag__sets_inode_flags(request))
		META_FD_HOOK(fd, REAL(ioctl)(fd, request, arg));
	return REAL(ioctl)(fd, request, arg);
}
