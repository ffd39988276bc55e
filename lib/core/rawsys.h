/* System calls made straight, not through libc's wrappers.
 *
 * The guard's own calls on the way to a verdict (resolving a path,
 * inspecting a program) run inside other programs, often in a child just
 * forked to exec: there, every libc wrapper is a page of libc's text the
 * child has not touched (a page fault each, 1-2 us in a VM), and the
 * wrappers the library also hooks (openat, fstatat, readlink) come back
 * through the guard's own hooks first. A syscall instruction is neither.
 *
 * Each returns what the kernel returns: the result, or -errno. errno is
 * left alone; callers set it where they report a failure. Elsewhere than
 * x86-64 they go through libc's syscall(). */
#ifndef AG_RAWSYS_H
#define AG_RAWSYS_H

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
static inline long ag_raw6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#else
static inline long ag_raw6(long n, long a, long b, long c, long d, long e, long f)
{
	int saved = errno;
	long r = syscall(n, a, b, c, d, e, f);
	if (r == -1) {
		r = -errno;
		errno = saved;
	}
	return r;
}
#endif

#define AG_RAW(n, a, b, c, d) ag_raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

/* The kernel floor's seccomp filter cannot read openat2's flags (they are
 * in a structure it may not follow), so it answers ENOSYS, as a kernel
 * without openat2 would, to every openat2 that does not carry this mark in
 * its fifth argument, which openat2 does not read: programs then fall back
 * to openat, whose flags the filter can read. The guard's own calls carry
 * it. It keeps out programs that do not know it, not ones written to get
 * past the guard (see README, "What it cannot stop"). */
#define AG_OPENAT2_MARK 0x6167656e74677264L /* "agentgrd" */

struct open_how;
static inline long ag_raw_openat2(int dirfd, const char *path, struct open_how *how, size_t sz)
{
	return ag_raw6(SYS_openat2, dirfd, (long)path, (long)how, (long)sz, AG_OPENAT2_MARK, 0);
}

static inline int ag_raw_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)AG_RAW(SYS_openat, dirfd, path, flags, mode);
}

static inline int ag_raw_close(int fd)
{
	return (int)AG_RAW(SYS_close, fd, 0, 0, 0);
}

/* struct stat is the kernel's own on x86-64 and on the generic ABIs. */
static inline int ag_raw_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
#if defined(__x86_64__)
	return (int)AG_RAW(SYS_newfstatat, dirfd, path, st, flags);
#else
	int saved = errno, r = fstatat(dirfd, path, st, flags);
	if (r != 0) {
		r = -errno;
		errno = saved;
	}
	return r;
#endif
}

static inline int ag_raw_fstat(int fd, struct stat *st)
{
	return ag_raw_fstatat(fd, "", st, AT_EMPTY_PATH);
}

static inline long ag_raw_readlinkat(int dirfd, const char *path, char *buf, size_t sz)
{
	return AG_RAW(SYS_readlinkat, dirfd, path, buf, sz);
}

/* The length with the NUL, as the kernel counts it, or -errno. */
static inline long ag_raw_getcwd(char *buf, size_t sz)
{
	return AG_RAW(SYS_getcwd, buf, sz, 0, 0);
}

static inline long ag_raw_getpid(void)
{
	return AG_RAW(SYS_getpid, 0, 0, 0, 0);
}

/* Sets errno from a raw result; returns -1 for a failure, else r. */
static inline long ag_raw_errno(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

#endif
