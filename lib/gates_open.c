/* The gates of the open family: the openat2 fast paths that judge a path
 * and open it in one system call, and the general path (ag__open_pre before
 * the open, ag__open_post on the descriptor after). They run with the
 * depth counter raised, as every gate (gates.c). */
#include <errno.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>

#include "dirfds.h"
#include "guard.h"
#include "rawsys.h"
#include "resolve.h"

/* openat2 refused once (an old kernel, a seccomp filter): not tried again. */
static _Atomic bool no_openat2;

static bool falls_back(int e)
{
	if (e == ENOSYS || e == EPERM)
		no_openat2 = true; /* an old kernel, or a seccomp filter */
	return e == ELOOP || e == EXDEV || e == EINVAL || e == ENOSYS || e == EPERM || e == E2BIG ||
	       e == EAGAIN;
}

/* A path as the fast paths take it: opened by openat2 from at as open
 * (from the working directory, the written path made absolute; from the
 * caller's directory descriptor, the path as written), and judged as lex,
 * the absolute path it names, in its lexical form. */
struct written {
	int at;
	const char *open, *lex;
	char open_buf[PATH_MAX], lex_buf[PATH_MAX];
};

/* The descriptor, or -errno. Made directly: no wrapper to go through, and
 * errno untouched. The mode's bits above 07777 are ignored by openat and
 * refused by openat2: masked as openat masks them. */
static long openat2_raw(const struct written *w, int flags, mode_t mode)
{
	struct open_how how = {.flags = (uint64_t)(unsigned)flags,
			       .mode = flags & O_CREAT ? mode & 07777 : 0,
			       .resolve = RESOLVE_NO_SYMLINKS};
	return ag_raw_openat2(w->at, w->open, &how, sizeof(how));
}

/* The descriptor, or -1 with errno set. */
static long openat2_plain(const struct written *w, int flags)
{
	return ag_raw_errno(openat2_raw(w, flags, 0));
}

/* An absolute path ag_path_lexical would leave as it is: no empty, "." or
 * ".." component and no trailing slash. The usual case, which then needs
 * no copy. */
static bool already_lexical(const char *p)
{
	if (p[0] != '/')
		return false;
	for (size_t i = 0; p[i]; i++) {
		if (p[i] != '/')
			continue;
		char a = p[i + 1];
		if (a == '\0')
			return i == 0;
		if (a == '/')
			return false;
		if (a == '.') {
			char b = p[i + 2];
			if (b == '/' || b == '\0' ||
			    (b == '.' && (p[i + 3] == '/' || p[i + 3] == '\0')))
				return false;
		}
	}
	return true;
}

/* The policy does not simply allow it: refuse it unopened when the written
 * path is provably the real one; -2 when that cannot be shown. */
static int read_refused(const struct written *w, int flags, int saved)
{
	long fd = openat2_plain(w, O_PATH | O_CLOEXEC | (flags & O_DIRECTORY));
	if (fd < 0) {
		(void)falls_back(errno);
		errno = saved;
		return -2;
	}
	close((int)fd);
	ag_pathinfo_t info = {.exists = true};
	ag_request_t req = {.op = AG_OP_READ, .path = w->lex};
	if (ag__judge(&req, &info, NULL, false) != 0)
		return -1;
	/* Audit, or an answered ask: the read goes ahead after all. */
	errno = saved;
	fd = openat2_plain(w, flags);
	if (fd >= 0) {
		errno = saved;
		return (int)fd;
	}
	return falls_back(errno) ? (errno = saved, -2) : -1;
}

/* The path as openat2 is to open it and as it is judged (struct written);
 * false where that cannot be done here (no working directory, a
 * descriptor that names no directory, too long). A path relative to a
 * descriptor (grep -r, find and cp -r open each file from the directory
 * they read) is judged beneath where the descriptor table says the
 * descriptor points: no readlink of /proc/self/fd for each file. */
static bool written_paths(int dirfd, const char *path, struct written *w)
{
	w->at = AT_FDCWD;
	w->open = w->lex = path;
	if (no_openat2 || ag__st.phase != AG_PHASE_READY || !path || !path[0])
		return false;
	size_t len = strlen(path);
	if (path[0] != '/' && dirfd != AT_FDCWD) {
		int saved = errno;
		ssize_t n = ag__fdpath(dirfd, w->lex_buf, PATH_MAX);
		errno = saved;
		if (n <= 0 || (size_t)n + 1 + len >= PATH_MAX)
			return false;
		w->lex_buf[n] = '/';
		memcpy(w->lex_buf + n + 1, path, len + 1);
		ag_path_lexical(w->lex_buf);
		w->at = dirfd;
		w->lex = w->lex_buf;
		return true;
	}
	if (already_lexical(path))
		return true;
	size_t n = 0;
	if (path[0] != '/') {
		long c = ag_raw_getcwd(w->open_buf, PATH_MAX);
		if (c <= 1 || w->open_buf[0] != '/')
			return false;
		n = (size_t)c - 1;
		if (n + 1 < PATH_MAX)
			w->open_buf[n++] = '/';
	}
	if (n + len >= PATH_MAX)
		return false;
	memcpy(w->open_buf + n, path, len + 1);
	memcpy(w->lex_buf, w->open_buf, n + len + 1);
	ag_path_lexical(w->lex_buf);
	w->open = w->open_buf;
	w->lex = w->lex_buf;
	return true;
}

/* A plain read is opened with openat2 and RESOLVE_NO_SYMLINKS: if any
 * component is a symlink (or a magic link) the kernel says ELOOP and the
 * general path takes over, so when it succeeds the written path, taken
 * lexically, is the real one, and the readlink of /proc/self/fd the general
 * path needs is saved. The string opened is the written one made absolute
 * (or left relative to the caller's directory descriptor), not its lexical
 * form: "a/link/../b" must not open "a/b". A read the
 * policy refuses is proven the same way with O_PATH, which opens nothing
 * for reading (a FIFO does not block, a device sees no open), and refused
 * without the file ever being opened. Returns the fd, -1 with errno as the
 * open failed or was refused, or -2 to take the general path. */
int ag__open_read_fast(int dirfd, const char *path, int flags)
{
	struct written w;

	if (!written_paths(dirfd, path, &w))
		return -2;
	ag_request_t req = {.op = AG_OP_READ, .path = w.lex};
	if (ag__decide(&req).action != AG_ALLOW)
		return read_refused(&w, flags, errno);
	long fd = openat2_raw(&w, flags, 0);
	if (fd >= 0)
		return (int)fd;
	if (falls_back((int)-fd))
		return -2;
	errno = (int)-fd;
	return -1;
}

/* The new file's descriptor, remembered with its path for the calls that
 * follow on it (tar's futimens, fchown, fchmod), and noted where the
 * policy would refuse changing it later. */
static int new_file(long fd, const char *path, unsigned r0, int saved)
{
	ag__fdpath_known((int)fd, path, strlen(path), r0);
	if (ag__worth_noting(path))
		ag__note_created(AT_FDCWD, NULL, (int)fd);
	errno = saved;
	return (int)fd;
}

/* The flags openat2 knows (the kernel's VALID_OPEN_FLAGS): openat ignores
 * any other bit, openat2 refuses it. */
#define OPENAT2_FLAGS                                                                              \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC |     \
	 FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC |       \
	 O_PATH | __O_TMPFILE | O_SYNC)

/* Whether a failed exclusive creation left the call to the general path:
 * only where nothing was made. A link on the way (ELOOP), no openat2 or
 * a filter refusing it (ENOSYS, EPERM) fail before the name is looked at;
 * an EPERM may also come after the file was made (fanotify, an LSM
 * refusing the open), and then, as EINVAL (O_DIRECT where the file system
 * has none) and every other error, it is the open's answer: the file the
 * kernel made stays, as it would unguarded. */
static bool create_falls_back(long err, const struct written *w)
{
	struct stat st;

	if (err == -EPERM && ag_raw_fstatat(w->at, w->open, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return false;
	return err != -EINVAL && falls_back((int)-err);
}

/* The written path opened as it is, with openat2 and RESOLVE_NO_SYMLINKS,
 * as a read is (ag__open_read_fast): one system call, the open itself,
 * where the policy allows creating there unseen. -2 where a link on the
 * way, an old kernel or a refusal leaves it to the caller. Out of line,
 * as create_in_parent is: each keeps its own buffers. */
__attribute__((noinline)) static int create_written(int dirfd, const char *path, int flags,
						    mode_t mode, unsigned r0)
{
	struct written w;
	int saved = errno;

	if ((flags & ~OPENAT2_FLAGS) || !written_paths(dirfd, path, &w) ||
	    !ag__allowed_unseen(AG_OP_CREATE, w.lex))
		return -2;
	long fd = openat2_raw(&w, flags, mode);
	if (fd >= 0)
		return new_file(fd, w.lex, r0, saved);
	/* Refused by the kernel floor: the general path explains it. */
	if (fd == -EACCES || create_falls_back(fd, &w)) {
		errno = saved;
		return -2;
	}
	errno = (int)-fd;
	return -1;
}

/* Made in the directory resolved, by openat on the descriptor that
 * resolved it. Out of line, as create_written is: the stack never holds
 * both's buffers. */
__attribute__((noinline)) static int create_in_parent(int dirfd, const char *path, int flags,
						      mode_t mode, unsigned r0)
{
	char buf[PATH_MAX];
	const char *name;
	int pfd, saved = errno;

	if (ag__resolve_parent(dirfd, path, buf, sizeof(buf), &pfd, &name) != 0) {
		errno = saved;
		return -2; /* the general path finds the same failure and says so */
	}
	long fd = -EACCES;
	if (ag__allowed_unseen(AG_OP_CREATE, buf))
		fd = ag_raw_openat(pfd, name, flags, mode);
	if (pfd != dirfd)
		ag_raw_close(pfd);
	/* Refused by the policy, or by the kernel floor: the general path
	 * judges or explains it. Nothing was made. */
	if (fd == -EACCES) {
		errno = saved;
		return -2;
	}
	if (fd < 0) {
		errno = (int)-fd;
		return -1;
	}
	return new_file(fd, buf, r0, saved);
}

/* O_CREAT with O_EXCL (tar x, cp, git checkout, an editor's temporary
 * file) makes a new file or fails. Where the policy allows creating it
 * unseen, a path that openat2 can prove is opened as written
 * (create_written); otherwise the file is made in the very directory that
 * was resolved (openat on the descriptor that resolved it). Either way its
 * path is known without asking the kernel. Returns the fd, -1 with errno
 * as the open failed, or -2 to take the general path. */
int ag__open_create_fast(int dirfd, const char *path, int flags, mode_t mode)
{
	if (ag__st.phase != AG_PHASE_READY)
		return -2;
	unsigned r0 = ag__fdpath_renames();
	int fd = create_written(dirfd, path, flags, mode, r0);
	return fd != -2 ? fd : create_in_parent(dirfd, path, flags, mode, r0);
}

/* Whether the file the last O_CREAT open (without O_EXCL) named was there
 * already. A build rewriting its outputs or a program saving over its files
 * keeps finding them there, and trying a new file first would only add a
 * failed open each time; a fresh build, an unpack or an install keeps
 * finding nothing, and the try saves the three system calls of resolving
 * the parent. A guess shared by the threads: a wrong one costs a system
 * call. */
static _Atomic bool create_found;

int ag__open_create_try(int dirfd, const char *path, int flags, mode_t mode)
{
	int saved = errno;

	if (ag__st.phase != AG_PHASE_READY ||
	    atomic_load_explicit(&create_found, memory_order_relaxed))
		return -2;
	/* Made with O_EXCL: a new file, exactly what the open would have
	 * made; anything already there (a file, a link to follow) says
	 * EEXIST and the open is judged the general way. */
	int fd = create_written(dirfd, path, flags | O_EXCL, mode, ag__fdpath_renames());
	if (fd == -1 && errno == EEXIST) {
		atomic_store_explicit(&create_found, true, memory_order_relaxed);
		errno = saved;
		return -2;
	}
	return fd;
}

/* O_CREAT and O_TRUNC act at open time, so they are judged before it;
 * everything else is judged after, through the descriptor, which names
 * exactly what the kernel opened whatever links led there. */
int ag__open_pre(int dirfd, const char *path, int flags, struct ag_open *o)
{
	char buf[PATH_MAX];
	ag_pathinfo_t info;
	int saved = errno;
	bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);

	*o = (struct ag_open){.post_op = -1};
	if ((flags & O_PATH) || !path)
		return 0;
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		int g = ag__gate_path(AG_OP_CREATE, dirfd, path, AG_RESOLVE_FOLLOW);
		o->note = g == 1;
		return g < 0 ? -1 : 0;
	}
	if (!(flags & (O_CREAT | O_TRUNC))) {
		o->post_op = writes ? AG_OP_WRITE : AG_OP_READ;
		if (!ag__guarded(o->post_op))
			o->post_op = -1;
		return 0;
	}
	if (!(ag__st.guarded &
	      (AG_OPBIT(AG_OP_CREATE) | AG_OPBIT(AG_OP_WRITE) | AG_OPBIT(AG_OP_READ))))
		return 0;
	/* O_CREAT with O_EXCL makes a new file or fails with EEXIST: where
	 * creating it is allowed unseen, what is there now does not matter. */
	bool excl = (flags & O_CREAT) && (flags & O_EXCL);
	bool follow = !(flags & O_NOFOLLOW) && !excl;
	int rflags = follow ? AG_RESOLVE_FOLLOW : excl ? AG_RESOLVE_NOSTAT : 0;
	if (ag_resolve(dirfd, path, rflags, buf, sizeof(buf), &info) != 0)
		return ag__unresolved(saved);
	if (excl) {
		if (ag__allowed_unseen(AG_OP_CREATE, buf)) {
			o->note = ag__worth_noting(buf);
			errno = saved;
			return 0;
		}
		ag__look(dirfd, path, &info);
	}
	if ((flags & O_CREAT) && !excl &&
	    atomic_load_explicit(&create_found, memory_order_relaxed) != info.exists)
		atomic_store_explicit(&create_found, info.exists, memory_order_relaxed);
	ag_op_t op = !info.exists ? AG_OP_CREATE : writes ? AG_OP_WRITE : AG_OP_READ;
	if (!info.exists && !(flags & O_CREAT)) {
		errno = saved;
		return 0;
	}
	if (ag__guarded(op)) {
		ag_request_t req = {.op = op, .path = buf};
		if (ag__judge(&req, &info, NULL, ag__multilinked(op, &info)) != 0)
			return -1;
		o->note = op == AG_OP_CREATE && ag__worth_noting(buf);
	}
	errno = saved;
	return 0;
}

int ag__open_post(int fd, const struct ag_open *o)
{
	char buf[PATH_MAX];
	ag_pathinfo_t info = {.exists = true};
	struct stat st;
	int saved = errno;

	if (o->note)
		ag__note_created(AT_FDCWD, NULL, fd);
	if (o->post_op < 0)
		return 0;
	ssize_t n = ag__fdpath(fd, buf, sizeof(buf));
	if (n == 0) {
		errno = saved;
		return 0;
	}
	if (n < 0)
		return -1;
	if (o->post_op == AG_OP_WRITE && fstat(fd, &st) == 0)
		ag_pathinfo_fill(&info, &st);
	ag_request_t req = {.op = (ag_op_t)o->post_op, .path = buf};
	if (ag__judge(&req, &info, NULL, ag__multilinked(req.op, &info)) != 0)
		return -1;
	errno = saved;
	return 0;
}

int ag__fopen_flags(const char *mode)
{
	int flags;

	switch (mode ? mode[0] : 'r') {
	case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
	case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
	default: flags = O_RDONLY;
	}
	for (const char *p = mode ? mode + 1 : ""; *p && *p != ','; p++) {
		if (*p == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*p == 'x')
			flags |= O_EXCL;
		else if (*p == 'e')
			flags |= O_CLOEXEC;
	}
	return flags;
}
