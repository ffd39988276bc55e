/* Resolving paths the way the kernel will, without realpath(): the kernel
 * already knows where a directory really is, so the parent is opened with
 * O_PATH and its /proc/self/fd link read back. That costs the same few
 * system calls at any depth and is exact for symlinks, "..", bind mounts and
 * directories renamed meanwhile. Only the last component is looked at by
 * hand, since it may not exist yet (create) or must not be followed
 * (unlink, rename). Nothing here allocates: the hooks call it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agentguard.h"
#include "dirfds.h"
#include "rawsys.h"
#include "resolve.h"
#include "str.h"

#define MAX_LINKS   40
#define HELD_FD	    0x100 /* step's dirfd is the guard's own, opened to follow a link */
#define KEEP_PARENT 0x200 /* step hands the parent it opened to the caller (*held) */

AG_HOT_TEXT static size_t fmt_fdlink(char *buf, int fd)
{
	/* Built on the stack, not copied from .rodata: one page less for a
	 * forked child to fault in. */
	char pre[] = {'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'f', 'd', '/', '\0'};
	char digits[12];
	size_t n = 0;
	unsigned v = (unsigned)fd;

	__asm__("" : : "r"(pre) : "memory");
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(buf, pre, sizeof(pre) - 1);
	for (size_t i = 0; i < n; i++)
		buf[sizeof(pre) - 1 + i] = digits[n - 1 - i];
	buf[sizeof(pre) - 1 + n] = '\0';
	return sizeof(pre) - 1 + n;
}

AG_HOT_TEXT ssize_t ag_fd_path(int fd, char *out, size_t outsz)
{
	char link[32];

	if (fd == AT_FDCWD) {
		long n = ag_raw_getcwd(out, outsz);
		if (n < 0) {
			errno = n == -ERANGE ? ENAMETOOLONG : (int)-n;
			return -1;
		}
		return n > 1 && out[0] == '/' ? (ssize_t)n - 1 : 0;
	}
	fmt_fdlink(link, fd);
	ssize_t n = ag_raw_readlinkat(AT_FDCWD, link, out, outsz);
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	if ((size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[n] = '\0';
	/* Pipes, sockets and anonymous inodes read "pipe:[..]"; a memfd reads
	 * like a path but lives in no directory anyone can reach. */
	if (out[0] != '/' || ag_starts(out, "/memfd:"))
		return 0;
	return n;
}

AG_HOT_TEXT static int join(char *out, size_t outsz, size_t baselen, const char *name, size_t n)
{
	if (baselen == 1 && out[0] == '/')
		baselen = 0;
	if (baselen + 1 + n + 1 > outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[baselen] = '/';
	ag_copy(out + baselen + 1, name, n);
	out[baselen + 1 + n] = '\0';
	return 0;
}

AG_HOT_TEXT void ag_pathinfo_fill(ag_pathinfo_t *info, const struct stat *st)
{
	info->exists = true;
	info->is_dir = S_ISDIR(st->st_mode);
	info->is_link = S_ISLNK(st->st_mode);
	info->nlink = st->st_nlink;
	info->dev = st->st_dev;
	info->ino = st->st_ino;
	info->mode = st->st_mode;
	info->uid = st->st_uid;
	info->gid = st->st_gid;
	info->size = st->st_size;
	info->mtime_sec = st->st_mtim.tv_sec;
	info->mtime_nsec = st->st_mtim.tv_nsec;
}

/* Beside the guard's other start-up variables, not alone on a page. */
static _Atomic bool no_openat2 __attribute__((section(".data.ag_hot")));

/* out, an absolute path that openat2 refused for a symlink on the way,
 * with the first symlink in it replaced by its target; 0, or -1 when there
 * is none to find (a loop, a race) or the result would not fit. The links
 * are read by their own paths, left to right: reading the directory back
 * through /proc/self/fd costs a process its first /proc lookup, 15 us in a
 * child just forked to exec. */
AG_HOT_TEXT static int replace_first_link(char *out, size_t outsz)
{
	size_t len = ag_strlen(out);

	for (size_t e = 1; e <= len; e++) {
		if (e < len && out[e] != '/')
			continue;
		/* The target is read into out past the path's end: no buffer of
		 * its own on the stack, one page less for a forked child. */
		char *target = out + len + 1;
		if (len + 2 >= outsz)
			return -1;
		char saved = out[e];
		out[e] = '\0';
		long t = ag_raw_readlinkat(AT_FDCWD, out, target, outsz - len - 1);
		out[e] = saved;
		if (t == -EINVAL || t == -ENOENT)
			continue; /* not a link: the next component */
		size_t rest = len - e;
		if (t <= 0 || len + 1 + (size_t)t + rest + 1 > outsz)
			return -1;
		/* A relative target is read from the link's own directory. */
		size_t keep = 0;
		if (target[0] != '/') {
			keep = e;
			while (keep > 0 && out[keep - 1] != '/')
				keep--;
		}
		/* target, then the rest of the path, then both into place. */
		ag_copy(target + t, out + e, rest + 1);
		ag_move(out + keep, target, (size_t)t + rest + 1);
		return 0;
	}
	return -1;
}

/* The parent directory (the first plen bytes of path), opened O_PATH.
 * Where it can be written as an absolute path with no symlink in it,
 * openat2 with RESOLVE_NO_SYMLINKS proves that path is the real one and
 * saves the /proc/self/fd readlink (*base gets its length, out the path);
 * otherwise *base stays -1 for the caller to ask. out is the scratch space
 * either way: the hooks run on other programs' stacks, and a forked child
 * pays a page fault for every page of stack it touches. */
AG_HOT_TEXT static int open_parent(int dirfd, const char *path, size_t plen, char *out,
				   size_t outsz, ssize_t *base)
{
	size_t n = 0;

	if (plen >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!no_openat2 && (path[0] == '/' || dirfd == AT_FDCWD)) {
		long c = path[0] != '/' ? ag_raw_getcwd(out, outsz) : 0;
		if (c > 1 && out[0] == '/') {
			n = (size_t)c - 1;
			out[n++] = '/';
		}
		if ((path[0] == '/' || n) && n + plen < outsz) {
			/* Opened as written: with no symlink on the way, ".." is
			 * then lexical, but "a/link/.." is not "a". */
			ag_copy(out + n, path, plen);
			out[n + plen] = '\0';
			struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
					       .resolve = RESOLVE_NO_SYMLINKS};
			int fd = (int)ag_raw_openat2(AT_FDCWD, out, &how, sizeof(how));
			/* /bin/true: /bin is a link to usr/bin. Followed by hand,
			 * each path still proven free of links by openat2. */
			for (int hops = 0; fd == -ELOOP && hops < MAX_LINKS; hops++) {
				if (replace_first_link(out, outsz) != 0)
					break;
				fd = (int)ag_raw_openat2(AT_FDCWD, out, &how, sizeof(how));
			}
			if (fd >= 0) {
				*base = (ssize_t)ag_path_lexical(out);
				return fd;
			}
			if (fd == -ENOSYS || fd == -EPERM)
				no_openat2 = true;
		}
	}
	ag_copy(out, path, plen);
	out[plen] = '\0';
	return (int)ag_raw_errno(ag_raw_openat(dirfd, out, O_PATH | O_DIRECTORY | O_CLOEXEC, 0));
}

/* One step: dirfd + path, where path's last component has no slash after
 * it. Sets *target when the last component is a symlink to follow. */
AG_HOT_TEXT static int step(int dirfd, const char *path, size_t len, int flags, char *out,
			    size_t outsz, ag_pathinfo_t *info, char *target, size_t tsz, int *held)
{
	const char *last = path;
	size_t lastlen = len;
	int pfd = dirfd;
	struct stat st;

	for (size_t i = len; i > 0; i--)
		if (path[i - 1] == '/') {
			last = path + i;
			lastlen = len - i;
			break;
		}
	ssize_t base = -1;
	if (last != path) {
		pfd = open_parent(dirfd, path, (size_t)(last - path), out, outsz, &base);
		if (pfd < 0)
			return -1;
	}
	/* The caller's own directory descriptor (rm -r's unlinkat(dirfd, name))
	 * is looked up in the table; a parent opened above is read directly. */
	if (base < 0)
		base = pfd == dirfd && !(flags & HELD_FD) ? ag__fdpath(pfd, out, outsz)
							  : ag_fd_path(pfd, out, outsz);
	if (base <= 0) {
		if (base == 0)
			errno = ENOENT;
		goto fail;
	}
	if ((lastlen == 1 && last[0] == '.') || (lastlen == 2 && memcmp(last, "..", 2) == 0)) {
		/* The kernel resolves these against the real parent. */
		int fd = (int)ag_raw_errno(ag_raw_openat(pfd, lastlen == 1 ? "." : "..",
							 O_PATH | O_DIRECTORY | O_CLOEXEC, 0));
		if (fd < 0 || ag_fd_path(fd, out, outsz) <= 0) {
			if (fd >= 0)
				ag_raw_close(fd);
			goto fail;
		}
		info->exists = info->is_dir = true;
		if (ag_raw_fstat(fd, &st) == 0)
			ag_pathinfo_fill(info, &st);
		ag_raw_close(fd);
		goto done;
	}
	char name[NAME_MAX + 1];
	if (lastlen > NAME_MAX) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	ag_copy(name, last, lastlen);
	name[lastlen] = '\0';
	/* A link to follow is read before its own path is built: that path may
	 * be too long to write while its target is not. */
	if ((flags & AG_RESOLVE_NOSTAT) && !(flags & AG_RESOLVE_FOLLOW)) {
		info->exists = false; /* not looked at: the caller asked not to */
	} else if (ag_raw_fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		info->exists = false;
	} else {
		ag_pathinfo_fill(info, &st);
		if (S_ISLNK(st.st_mode) && (flags & AG_RESOLVE_FOLLOW)) {
			ssize_t n = ag_raw_readlinkat(pfd, name, target, tsz - 1);
			if (n <= 0 || (size_t)n >= tsz - 1) {
				errno = n < 0 ? (int)-n : ENAMETOOLONG;
				goto fail;
			}
			target[n] = '\0';
			/* A relative target is resolved from the link's directory. */
			if (pfd != dirfd) {
				*held = pfd;
				return 1;
			}
			return 2;
		}
	}
	if (join(out, outsz, (size_t)base, last, lastlen) != 0)
		goto fail;
	if (flags & KEEP_PARENT) {
		*held = pfd;
		return 0;
	}
done:
	if (pfd != dirfd)
		ag_raw_close(pfd);
	return 0;
fail:
	if (pfd != dirfd)
		ag_raw_close(pfd);
	return -1;
}

static int resolve_into(int dirfd, const char *path, int flags, char *out, ag_pathinfo_t *info);

AG_HOT_TEXT int ag__resolve_parent(int dirfd, const char *path, char *out, size_t outsz, int *pfd,
				   const char **name)
{
	ag_pathinfo_t info;
	size_t len = path ? ag_strlen(path) : 0;

	if (len == 0 || len >= outsz || outsz < PATH_MAX || path[len - 1] == '/') {
		errno = EINVAL;
		return -1;
	}
	const char *last = path + len;
	while (last > path && last[-1] != '/')
		last--;
	if ((last[0] == '.' && last[1] == '\0') ||
	    (last[0] == '.' && last[1] == '.' && last[2] == '\0')) {
		errno = EINVAL;
		return -1;
	}
	*pfd = dirfd;
	*name = last;
	return step(path[0] == '/' ? AT_FDCWD : dirfd, path, len, AG_RESOLVE_NOSTAT | KEEP_PARENT,
		    out, outsz, &info, NULL, 0, pfd);
}

/* A short out, or one that holds path: resolved aside, then copied. Out of
 * line, so that its buffer is not on the stack of every resolution. */
__attribute__((noinline)) static int resolve_aside(int dirfd, const char *path, int flags,
						   char *out, size_t outsz, ag_pathinfo_t *info)
{
	char res[PATH_MAX];
	int rc = resolve_into(dirfd, path, flags, res, info);

	if (rc == 0) {
		size_t n = ag_strlen(res);
		if (n >= outsz) {
			errno = ENAMETOOLONG;
			return -1;
		}
		ag_copy(out, res, n + 1);
	}
	return rc;
}

AG_HOT_TEXT int ag_resolve(int dirfd, const char *path, int flags, char *out, size_t outsz,
			   ag_pathinfo_t *info)
{
	/* out doubles as scratch space on the way: straight into it, unless
	 * it is where path lies. */
	uintptr_t o = (uintptr_t)out, p = (uintptr_t)path;
	if (outsz >= PATH_MAX && path && (p + ag_strlen(path) < o || p >= o + outsz))
		return resolve_into(dirfd, path, flags, out, info);
	return resolve_aside(dirfd, path, flags, out, outsz, info);
}

/* Works in a buffer of PATH_MAX, so that paths met on the way (a long link
 * name, a deep parent) never make a short answer fail. The path as given is
 * read in place; only the targets of links followed are copied, into
 * buffers left untouched (and so never faulted in) otherwise. */
AG_HOT_TEXT static int resolve_into(int dirfd, const char *path, int flags, char *out,
				    ag_pathinfo_t *info)
{
	const size_t outsz = PATH_MAX;
	char buf[2][PATH_MAX];
	int held = -1, next = 0, rc = -1;
	ag_pathinfo_t scratch;

	if (!info)
		info = &scratch;
	if (!path || !*path) {
		errno = ENOENT;
		return -1;
	}
	size_t len = ag_strlen(path);
	if (len >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	const char *p = path;
	for (int hops = 0; hops <= MAX_LINKS; hops++) {
		/* "dir/" means dir, followed, and so is every link after the first
		 * one followed. */
		while (len > 1 && p[len - 1] == '/') {
			len--;
			flags |= AG_RESOLVE_FOLLOW;
		}
		int f = flags | (held >= 0 ? HELD_FD : 0);
		if (len == 1 && p[0] == '/') {
			strcpy(out, "/");
			*info = (ag_pathinfo_t){.exists = true, .is_dir = true};
			rc = 0;
			break;
		}
		memset(info, 0, sizeof(*info));
		int newheld = -1;
		int base = held >= 0 ? held : dirfd;
		int r = step(p[0] == '/' ? AT_FDCWD : base, p, len, f, out, outsz, info, buf[next],
			     PATH_MAX, &newheld);
		if (r <= 0) {
			rc = r;
			break;
		}
		if (r == 1) {
			if (held >= 0)
				ag_raw_close(held);
			held = newheld;
		}
		p = buf[next];
		len = ag_strlen(p);
		next = !next;
		if (hops == MAX_LINKS)
			errno = ELOOP;
	}
	if (held >= 0)
		ag_raw_close(held);
	return rc;
}

AG_HOT_TEXT size_t ag_path_squash(char *p)
{
	size_t o = 0;
	for (size_t i = 0; p[i];) {
		if (p[i] == '/') {
			while (p[i] == '/')
				i++;
			if (p[i] == '.' && (p[i + 1] == '/' || p[i + 1] == '\0')) {
				i++;
				continue;
			}
			p[o++] = '/';
			continue;
		}
		p[o++] = p[i++];
	}
	if (o > 1 && p[o - 1] == '/')
		o--;
	if (o == 0)
		p[o++] = '/';
	p[o] = '\0';
	return o;
}

AG_HOT_TEXT size_t ag_path_lexical(char *p)
{
	size_t n = ag_path_squash(p), o = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && p[j] != '/')
			j++;
		if (j - i == 3 && p[i + 1] == '.' && p[i + 2] == '.') {
			while (o > 0 && p[--o] != '/')
				;
		} else {
			ag_move(p + o, p + i, j - i);
			o += j - i;
		}
		i = j;
	}
	if (o == 0)
		p[o++] = '/';
	p[o] = '\0';
	return o;
}

bool ag_path_within(const char *path, const char *dir)
{
	size_t n = ag_strlen(dir);
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return ag_memeq(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}
