/* syscall(): libuv and others reach file calls through it, past every libc
 * wrapper. The guarded numbers go through the same gates as the wrappers;
 * every other number passes untouched. */
#include <errno.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>

#include "dirfds.h"
#include "rawsys.h"
#include "guard.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#define P(i) ((const char *)a[i])
#define I(i) ((int)a[i])
#define FOLLOW AG_RESOLVE_FOLLOW
#define AT_FOLLOW(flags) (((flags) & AT_SYMLINK_NOFOLLOW) ? 0 : FOLLOW)

static long real6(long n, const long *a)
{
	return REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static long open_call(long n, const long *a, int dirfd, const char *path, int flags)
{
	struct ag_open o;
	if (ag__open_pre(dirfd, path, flags, &o) != 0)
		return -1;
	long fd = real6(n, a);
	if (fd >= 0 && ag__open_post((int)fd, &o) != 0) {
		int e = errno;
		close((int)fd);
		errno = e;
		return -1;
	}
	return fd;
}

static long path_call(long n, const long *a, ag_op_t op, int dirfd, const char *path, int rflags)
{
	int g = ag__gate_path(op, dirfd, path, rflags);
	if (g < 0)
		return -1;
	long rc = real6(n, a);
	if (g == 1 && rc == 0)
		ag__note_created(dirfd, path, -1);
	return rc;
}

static long fd_call(long n, const long *a, ag_op_t op, int fd)
{
	return ag__gate_fd(op, fd) < 0 ? -1 : real6(n, a);
}

static long gated(long n, const long *a, int gate)
{
	return gate < 0 ? -1 : real6(n, a);
}

/* openat2's how, judged from a copy that is also what the kernel gets:
 * the caller's may change under another thread between the two. A longer
 * structure than this one (a newer kernel's) is taken as the kernel takes
 * it: up to a page, with its tail all zero, it means this one; otherwise
 * it asks for something this guard cannot judge, and gets E2BIG, as from
 * a kernel that does not know it either. A shorter one, or none, is
 * passed as it is, for the kernel to refuse. */
static long openat2_call(long n, const long *a)
{
	const unsigned char *user = (const unsigned char *)a[2];
	size_t sz = (size_t)a[3];
	struct open_how how;
	long m[6] = {a[0], a[1], a[2], a[3], AG_OPENAT2_MARK, 0};
	int flags = 0; /* judged as a read when the kernel will refuse the how */

	if (user && sz >= sizeof(how)) {
		bool tail = sz > (size_t)getpagesize();
		for (size_t i = sizeof(how); i < sz && !tail; i++)
			tail = user[i] != 0;
		if (tail) {
			errno = E2BIG;
			return -1;
		}
		memcpy(&how, user, sizeof(how));
		m[2] = (long)&how;
		m[3] = (long)sizeof(how);
		flags = (int)how.flags;
		/* RESOLVE_IN_ROOT makes the directory the root of this one
		 * lookup: "/", ".." and absolute links stop or start there. The
		 * guard resolves from the real root and could judge another
		 * file than the one made or emptied before any descriptor
		 * exists: those opens are refused. Others are judged on the
		 * descriptor opened, which is exact. */
		if ((how.resolve & RESOLVE_IN_ROOT) && (how.flags & (O_CREAT | O_TRUNC)))
			return ag__refuse_unresolved(how.flags & O_TRUNC ? AG_OP_WRITE : AG_OP_CREATE,
						     I(0), P(1),
						     "openat2 with RESOLVE_IN_ROOT, which the guard "
						     "does not resolve as the kernel will") != 0
				   ? -1
				   : real6(n, m);
	}
	/* Judged here, so it carries the mark the floor's filter wants. */
	return open_call(n, m, I(0), P(1), flags);
}

static long dispatch(long n, const long *a)
{
	switch (n) {
	case SYS_open: return open_call(n, a, AT_FDCWD, P(0), I(1));
	case SYS_creat: return open_call(n, a, AT_FDCWD, P(0), O_CREAT | O_WRONLY | O_TRUNC);
	case SYS_openat: return open_call(n, a, I(0), P(1), I(2));
	case SYS_openat2: return openat2_call(n, a);
	case SYS_truncate: return path_call(n, a, AG_OP_WRITE, AT_FDCWD, P(0), FOLLOW);
	case SYS_ftruncate: return fd_call(n, a, AG_OP_WRITE, I(0));
	case SYS_unlink:
	case SYS_rmdir: return path_call(n, a, AG_OP_DELETE, AT_FDCWD, P(0), 0);
	case SYS_unlinkat: return path_call(n, a, AG_OP_DELETE, I(0), P(1), 0);
	case SYS_rename: return gated(n, a, ag__gate_rename(AT_FDCWD, P(0), AT_FDCWD, P(1), 0));
	case SYS_renameat: return gated(n, a, ag__gate_rename(I(0), P(1), I(2), P(3), 0));
	case SYS_renameat2:
		return gated(n, a, ag__gate_rename(I(0), P(1), I(2), P(3), (unsigned)a[4]));
	case SYS_link: return gated(n, a, ag__gate_link(AT_FDCWD, P(0), AT_FDCWD, P(1), 0));
	case SYS_linkat: return gated(n, a, ag__gate_link(I(0), P(1), I(2), P(3), I(4)));
	case SYS_symlink: return path_call(n, a, AG_OP_CREATE, AT_FDCWD, P(1), 0);
	case SYS_symlinkat: return path_call(n, a, AG_OP_CREATE, I(1), P(2), 0);
	case SYS_mkdir:
	case SYS_mknod: return path_call(n, a, AG_OP_CREATE, AT_FDCWD, P(0), 0);
	case SYS_mkdirat:
	case SYS_mknodat: return path_call(n, a, AG_OP_CREATE, I(0), P(1), 0);
	case SYS_chmod:
	case SYS_chown:
	case SYS_utime:
	case SYS_utimes:
	case SYS_setxattr:
	case SYS_removexattr: return path_call(n, a, AG_OP_CHMOD, AT_FDCWD, P(0), FOLLOW);
	case SYS_lchown:
	case SYS_lsetxattr:
	case SYS_lremovexattr: return path_call(n, a, AG_OP_CHMOD, AT_FDCWD, P(0), 0);
	case SYS_ioctl:
		if (!ag__sets_inode_flags((unsigned long)a[1]))
			return real6(n, a);
		return fd_call(n, a, AG_OP_CHMOD, I(0));
	case SYS_fchmod:
	case SYS_fchown:
	case SYS_fsetxattr:
	case SYS_fremovexattr: return fd_call(n, a, AG_OP_CHMOD, I(0));
	case SYS_fchmodat: return path_call(n, a, AG_OP_CHMOD, I(0), P(1), FOLLOW);
	case SYS_fchmodat2: return path_call(n, a, AG_OP_CHMOD, I(0), P(1), AT_FOLLOW(I(3)));
	case SYS_fchownat: return path_call(n, a, AG_OP_CHMOD, I(0), P(1), AT_FOLLOW(I(4)));
	case SYS_futimesat:
		if (!P(1))
			return fd_call(n, a, AG_OP_CHMOD, I(0));
		return path_call(n, a, AG_OP_CHMOD, I(0), P(1), FOLLOW);
	case SYS_utimensat:
		if (!P(1))
			return fd_call(n, a, AG_OP_CHMOD, I(0));
		return path_call(n, a, AG_OP_CHMOD, I(0), P(1), AT_FOLLOW(I(3)));
	/* Looking at a path reads its metadata: a stat of a secret is refused as
	 * its read would be (through syscall() only: libc's stat family is too
	 * hot to resolve on every call). */
	case SYS_stat:
	case SYS_access: return path_call(n, a, AG_OP_READ, AT_FDCWD, P(0), FOLLOW);
	case SYS_lstat: return path_call(n, a, AG_OP_READ, AT_FDCWD, P(0), 0);
	case SYS_newfstatat: return path_call(n, a, AG_OP_READ, I(0), P(1), AT_FOLLOW(I(3)));
	case SYS_statx: return path_call(n, a, AG_OP_READ, I(0), P(1), AT_FOLLOW(I(2)));
	case SYS_faccessat: return path_call(n, a, AG_OP_READ, I(0), P(1), FOLLOW);
	case SYS_faccessat2: return path_call(n, a, AG_OP_READ, I(0), P(1), AT_FOLLOW(I(3)));
	case SYS_connect: return gated(n, a, ag__gate_sockaddr((const void *)a[1], (socklen_t)a[2]));
	case SYS_sendto:
		return gated(n, a, ag__gate_sockaddr((const void *)a[4], (socklen_t)a[5]));
	case SYS_sendmsg: {
		const struct msghdr *m = (const struct msghdr *)a[1];
		return gated(n, a, m ? ag__gate_sockaddr(m->msg_name, m->msg_namelen) : 0);
	}
	default: return real6(n, a);
	}
}

/* Closes, renames and links are counted for the descriptor path table
 * (lib/hook_fd.c), after the call, judged or not. */
static void counted(long n, const long *a, long rc)
{
	switch (n) {
	case SYS_close: ag__dirfd_closed(I(0)); break;
	case SYS_dup2:
	case SYS_dup3: ag__dirfd_closed(I(1)); break;
	case SYS_close_range: ag__dirfd_closed_all(); break;
	case SYS_rename:
	case SYS_renameat:
	case SYS_renameat2:
	case SYS_link:
	case SYS_linkat:
		if (rc == 0)
			ag__fdpath_renamed();
		break;
	default: break;
	}
}

/* Like glibc's own syscall(), this reads six arguments whatever the number
 * takes; the unused ones are never looked at. */
long syscall(long number, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	long rc;
	if (!ag__enter()) {
		rc = real6(number, a);
	} else {
		rc = dispatch(number, a);
		ag__leave();
	}
	counted(number, a, rc);
	return rc;
}
