/* The open family: every way libc opens a path, for reading or writing. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dirfds.h"
#include "guard.h"

static int refuse_fd(int fd)
{
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Plain reads try the openat2 path first (see ag__open_read_fast). */
#define PLAIN_READ(flags)                                                                          \
	(((flags) & (O_ACCMODE | O_CREAT | O_TRUNC | O_PATH | __O_TMPFILE)) == O_RDONLY &&         \
	 ag__guarded(AG_OP_READ))

/* And a new file (O_CREAT with O_EXCL, no O_PATH, O_DIRECTORY or O_TMPFILE)
 * is made in the directory resolved (see ag__open_create_fast). NO_MODE:
 * the forms that take none (__open_2), which glibc aborts for O_CREAT. */
#define NEW_FILE(flags, mode)                                                                      \
	(((flags) & (O_CREAT | O_EXCL | O_PATH | O_DIRECTORY | __O_TMPFILE)) ==                    \
	     (O_CREAT | O_EXCL) &&                                                                 \
	 (mode) != NO_MODE && ag__guarded(AG_OP_CREATE))
#define NO_MODE ((mode_t)~0u)

/* O_CREAT without O_EXCL: maybe a new file (see ag__open_create_try). */
#define MAYBE_NEW(flags, mode)                                                                     \
	(((flags) & (O_CREAT | O_EXCL | O_PATH | O_DIRECTORY | __O_TMPFILE)) == O_CREAT &&         \
	 (mode) != NO_MODE && ag__guarded(AG_OP_CREATE))

#define OPEN_HOOK(dirfd, path, flags, mode, call)                                                  \
	do {                                                                                       \
		struct ag_open o_;                                                                 \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		int fd_ = PLAIN_READ(flags)	   ? ag__open_read_fast(dirfd, path, flags)         \
			  : NEW_FILE(flags, mode)  ? ag__open_create_fast(dirfd, path, flags, mode) \
			  : MAYBE_NEW(flags, mode) ? ag__open_create_try(dirfd, path, flags, mode)  \
						   : -2;                                            \
		if (fd_ == -2) {                                                                   \
			fd_ = -1;                                                                  \
			if (ag__open_pre(dirfd, path, flags, &o_) != 0)                            \
				;                                                                  \
			else if ((fd_ = call) >= 0 && ag__open_post(fd_, &o_) != 0)                \
				fd_ = refuse_fd(fd_);                                              \
			else if (fd_ < 0 && errno == EACCES)                                       \
				ag__floor_explain_open(dirfd, path, flags);                        \
		}                                                                                  \
		ag__leave();                                                                       \
		return fd_;                                                                        \
	} while (0)

#define MODE_ARG(flags)                                                                            \
	mode_t mode = 0;                                                                           \
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {                               \
		va_list ap;                                                                        \
		va_start(ap, flags);                                                               \
		mode = va_arg(ap, mode_t);                                                         \
		va_end(ap);                                                                        \
	}

int open(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	flags = ag__open_flags(flags);
	OPEN_HOOK(AT_FDCWD, path, flags, mode, REAL(open)(path, flags, mode));
}

int open64(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	flags = ag__open_flags(flags);
	OPEN_HOOK(AT_FDCWD, path, flags, mode, REAL(open64)(path, flags, mode));
}

int __open(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	flags = ag__open_flags(flags);
	OPEN_HOOK(AT_FDCWD, path, flags, mode, REAL(__open)(path, flags, mode));
}

int __open64(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	flags = ag__open_flags(flags);
	OPEN_HOOK(AT_FDCWD, path, flags, mode, REAL(__open64)(path, flags, mode));
}

int __open_2(const char *path, int flags)
{
	flags = ag__open_flags(flags);
	OPEN_HOOK(AT_FDCWD, path, flags, NO_MODE, REAL(__open_2)(path, flags));
}

int __open64_2(const char *path, int flags)
{
	flags = ag__open_flags(flags);
	OPEN_HOOK(AT_FDCWD, path, flags, NO_MODE, REAL(__open64_2)(path, flags));
}

int openat(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	flags = ag__open_flags(flags);
	OPEN_HOOK(dirfd, path, flags, mode, REAL(openat)(dirfd, path, flags, mode));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	flags = ag__open_flags(flags);
	OPEN_HOOK(dirfd, path, flags, mode, REAL(openat64)(dirfd, path, flags, mode));
}

int __openat_2(int dirfd, const char *path, int flags)
{
	flags = ag__open_flags(flags);
	OPEN_HOOK(dirfd, path, flags, NO_MODE, REAL(__openat_2)(dirfd, path, flags));
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	flags = ag__open_flags(flags);
	OPEN_HOOK(dirfd, path, flags, NO_MODE, REAL(__openat64_2)(dirfd, path, flags));
}

int creat(const char *path, mode_t mode)
{
	OPEN_HOOK(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, REAL(creat)(path, mode));
}

int creat64(const char *path, mode_t mode)
{
	OPEN_HOOK(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, REAL(creat64)(path, mode));
}

static FILE *refuse_file(FILE *f)
{
	int e = errno;
	fclose(f);
	errno = e;
	return NULL;
}

#define FILE_HOOK(path, mode, call)                                                                \
	do {                                                                                       \
		struct ag_open o_;                                                                 \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		FILE *f_ = NULL;                                                                   \
		if (ag__open_pre(AT_FDCWD, path, ag__fopen_flags(mode), &o_) != 0)                 \
			;                                                                          \
		else if ((f_ = call) != NULL && ag__open_post(fileno(f_), &o_) != 0)               \
			f_ = refuse_file(f_);                                                      \
		else if (!f_ && errno == EACCES)                                                   \
			ag__floor_explain_open(AT_FDCWD, path, ag__fopen_flags(mode));             \
		ag__leave();                                                                       \
		return f_;                                                                         \
	} while (0)

/* fopen for reading takes the openat2 path when it can, then wraps the
 * descriptor as fopen would. */
static FILE *fopen_read_fast(const char *path, const char *mode, bool *taken)
{
	int flags = ag__fopen_flags(mode);
	*taken = false;
	/* fdopen knows no ",ccs=" (wide streams): those keep the real fopen. */
	if (!PLAIN_READ(flags) || !mode || strchr(mode, ','))
		return NULL;
	int fd = ag__open_read_fast(AT_FDCWD, path, flags);
	if (fd == -2)
		return NULL;
	*taken = true;
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, mode);
	if (!f)
		refuse_fd(fd);
	return f;
}

#define FOPEN_HOOK(path, mode, call)                                                               \
	do {                                                                                       \
		bool taken_ = false;                                                               \
		if (ag__enter()) {                                                                 \
			FILE *f_ = fopen_read_fast(path, mode, &taken_);                           \
			ag__leave();                                                               \
			if (taken_)                                                                \
				return f_;                                                         \
		}                                                                                  \
		FILE_HOOK(path, mode, call);                                                       \
	} while (0)

FILE *fopen(const char *path, const char *mode)
{
	FOPEN_HOOK(path, mode, REAL(fopen)(path, mode));
}

FILE *fopen64(const char *path, const char *mode)
{
	FOPEN_HOOK(path, mode, REAL(fopen64)(path, mode));
}

/* With a NULL path freopen only changes the stream's mode: nothing to
 * judge. Either way the stream's descriptor number is closed or reused,
 * which the directory table counts (lib/hook_fd.c). */
static FILE *freopen_path(const char *path, const char *mode, FILE *stream)
{
	if (!path)
		return REAL(freopen)(path, mode, stream);
	FILE_HOOK(path, mode, REAL(freopen)(path, mode, stream));
}

static FILE *freopen64_path(const char *path, const char *mode, FILE *stream)
{
	if (!path)
		return REAL(freopen64)(path, mode, stream);
	FILE_HOOK(path, mode, REAL(freopen64)(path, mode, stream));
}

FILE *freopen(const char *path, const char *mode, FILE *stream)
{
	int fd = stream ? stream->_fileno : -1;
	FILE *f = freopen_path(path, mode, stream);
	ag__dirfd_closed(fd);
	return f;
}

FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
	int fd = stream ? stream->_fileno : -1;
	FILE *f = freopen64_path(path, mode, stream);
	ag__dirfd_closed(fd);
	return f;
}

DIR *opendir(const char *path)
{
	struct ag_open o;
	if (!ag__enter())
		return REAL(opendir)(path);
	DIR *d = NULL;
	if (ag__open_pre(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, &o) == 0 &&
	    (d = REAL(opendir)(path)) != NULL && ag__open_post(dirfd(d), &o) != 0) {
		int e = errno;
		closedir(d);
		errno = e;
		d = NULL;
	}
	ag__leave();
	return d;
}

/* scandir hands back names, not a descriptor: judged before the call. */
#define READ_HOOK(dirfd, path, call)                                                               \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		int rc_ =                                                                          \
		    ag__gate_path(AG_OP_READ, dirfd, path, AG_RESOLVE_FOLLOW) < 0 ? -1 : call;     \
		ag__leave();                                                                       \
		return rc_;                                                                        \
	} while (0)

int scandir(const char *dir, struct dirent ***list, int (*sel)(const struct dirent *),
	    int (*cmp)(const struct dirent **, const struct dirent **))
{
	READ_HOOK(AT_FDCWD, dir, REAL(scandir)(dir, list, sel, cmp));
}

int scandir64(const char *dir, struct dirent64 ***list, int (*sel)(const struct dirent64 *),
	      int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	READ_HOOK(AT_FDCWD, dir, REAL(scandir64)(dir, list, sel, cmp));
}

int scandirat(int dirfd, const char *dir, struct dirent ***list, int (*sel)(const struct dirent *),
	      int (*cmp)(const struct dirent **, const struct dirent **))
{
	READ_HOOK(dirfd, dir, REAL(scandirat)(dirfd, dir, list, sel, cmp));
}

int scandirat64(int dirfd, const char *dir, struct dirent64 ***list,
		int (*sel)(const struct dirent64 *),
		int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	READ_HOOK(dirfd, dir, REAL(scandirat64)(dirfd, dir, list, sel, cmp));
}

/* A handle names no path until it is open, so truncation waits for the
 * verdict on what was opened. */
int open_by_handle_at(int mountfd, struct file_handle *handle, int flags)
{
	if (!ag__enter())
		return REAL(open_by_handle_at)(mountfd, handle, flags);
	bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	struct ag_open o = {.post_op = writes ? AG_OP_WRITE : AG_OP_READ};
	int fd = REAL(open_by_handle_at)(mountfd, handle, flags & ~O_TRUNC);
	if (fd >= 0 && ag__open_post(fd, &o) != 0)
		fd = refuse_fd(fd);
	else if (fd >= 0 && (flags & O_TRUNC))
		(void)!ftruncate(fd, 0);
	ag__leave();
	return fd;
}

/* mkstemp and friends: the template's directory and name decide. */
#define TEMP_HOOK(tmpl, call)                                                                      \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		int fd_ = -1, g_ = ag__gate_path(AG_OP_CREATE, AT_FDCWD, tmpl, 0);                 \
		if (g_ >= 0 && (fd_ = call) >= 0 && g_ == 1)                                       \
			ag__note_created(AT_FDCWD, NULL, fd_);                                     \
		else if (g_ >= 0 && fd_ < 0 && errno == EACCES)                                    \
			ag__floor_explain(AG_OP_CREATE, AT_FDCWD, tmpl);                           \
		ag__leave();                                                                       \
		return fd_;                                                                        \
	} while (0)

int mkstemp(char *tmpl)
{
	TEMP_HOOK(tmpl, REAL(mkstemp)(tmpl));
}

int mkstemp64(char *tmpl)
{
	TEMP_HOOK(tmpl, REAL(mkstemp64)(tmpl));
}

int mkostemp(char *tmpl, int flags)
{
	TEMP_HOOK(tmpl, REAL(mkostemp)(tmpl, flags));
}

int mkostemp64(char *tmpl, int flags)
{
	TEMP_HOOK(tmpl, REAL(mkostemp64)(tmpl, flags));
}

int mkstemps(char *tmpl, int suffixlen)
{
	TEMP_HOOK(tmpl, REAL(mkstemps)(tmpl, suffixlen));
}

int mkstemps64(char *tmpl, int suffixlen)
{
	TEMP_HOOK(tmpl, REAL(mkstemps64)(tmpl, suffixlen));
}

int mkostemps(char *tmpl, int suffixlen, int flags)
{
	TEMP_HOOK(tmpl, REAL(mkostemps)(tmpl, suffixlen, flags));
}

int mkostemps64(char *tmpl, int suffixlen, int flags)
{
	TEMP_HOOK(tmpl, REAL(mkostemps64)(tmpl, suffixlen, flags));
}

char *mkdtemp(char *tmpl)
{
	if (!ag__enter())
		return REAL(mkdtemp)(tmpl);
	char *r = NULL;
	int g = ag__gate_path(AG_OP_CREATE, AT_FDCWD, tmpl, 0);
	if (g >= 0 && (r = REAL(mkdtemp)(tmpl)) != NULL && g == 1)
		ag__note_created(AT_FDCWD, r, -1);
	else if (g >= 0 && !r && errno == EACCES)
		ag__floor_explain(AG_OP_CREATE, AT_FDCWD, tmpl);
	ag__leave();
	return r;
}

/* tmpfile() makes an unnamed file in P_tmpdir. */
#define TMPFILE_HOOK(call)                                                                         \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		FILE *f_ =                                                                         \
		    ag__gate_path(AG_OP_CREATE, AT_FDCWD, P_tmpdir "/", 0) < 0 ? NULL : call;      \
		ag__leave();                                                                       \
		return f_;                                                                         \
	} while (0)

FILE *tmpfile(void)
{
	TMPFILE_HOOK(REAL(tmpfile)());
}

FILE *tmpfile64(void)
{
	TMPFILE_HOOK(REAL(tmpfile64)());
}

/* The spawned child opens this path inside glibc, where no hook sees it:
 * the parent judges it when the action is added. Like every posix_spawn
 * function it returns an error number instead of setting errno. */
int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path,
				     int flags, mode_t mode)
{
	struct ag_open o;
	if (!ag__enter())
		return REAL(posix_spawn_file_actions_addopen)(fa, fd, path, flags, mode);
	int saved = errno, rc;
	bool writes = (flags & O_ACCMODE) != O_RDONLY;
	if (flags & (O_CREAT | O_TRUNC | O_TMPFILE))
		rc = ag__open_pre(AT_FDCWD, path, flags, &o);
	else
		rc = ag__gate_path(writes ? AG_OP_WRITE : AG_OP_READ, AT_FDCWD, path,
				   (flags & O_NOFOLLOW) ? 0 : AG_RESOLVE_FOLLOW);
	rc = rc < 0 ? errno : REAL(posix_spawn_file_actions_addopen)(fa, fd, path, flags, mode);
	errno = saved;
	ag__leave();
	return rc;
}
