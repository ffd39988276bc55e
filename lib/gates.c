/* Gates: turn a call's arguments into resolved paths and operations, and
 * ask. They run with the depth counter raised, so their own system calls
 * pass straight through the hooks. Opens have their own (gates_open.c). */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>

#include "dirfds.h"
#include "guard.h"
#include "rawsys.h"
#include "resolve.h"

/* A directory on the way that is missing or not searchable makes the real
 * call fail the same way, so it goes through to say so. A path that does not
 * fit, or that cannot be resolved at all, is refused rather than guessed. */
int ag__unresolved(int saved)
{
	if (errno == ENOENT || errno == ENOTDIR || errno == EACCES) {
		errno = saved;
		return 0;
	}
	return -1;
}

bool ag__multilinked(ag_op_t op, const ag_pathinfo_t *i)
{
	return i->exists && i->nlink > 1 && !i->is_dir && (op == AG_OP_WRITE || op == AG_OP_CHMOD);
}

/* A creation is worth remembering only where the policy would refuse to
 * change the file afterwards (tar's chmod, an installer's rename). */
bool ag__worth_noting(const char *path)
{
	static const ag_op_t later[] = {AG_OP_WRITE, AG_OP_DELETE, AG_OP_CHMOD, AG_OP_RENAME};
	if (ag__st.phase != AG_PHASE_READY)
		return false;
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		ag_request_t r = {.op = later[i], .path = path};
		if (ag__decide(&r).action != AG_ALLOW)
			return true;
	}
	return false;
}

/* What the path alone says, before anything is looked at: true when
 * side() in guard.c allows the call whatever the file turns out to be.
 * What is there only ever makes a verdict stricter (a directory renamed
 * moves what lies beneath, a file with other names is written everywhere)
 * or lets a refused one through (a file the process created), so an allow
 * under the strictest assumptions needs no stat. */
bool ag__allowed_unseen(ag_op_t op, const char *path)
{
	if (ag__st.phase != AG_PHASE_READY)
		return false;
	ag_request_t r = {.op = op, .path = path, .flags = AG_REQ_DIR1, .exists = ag__exists};
	if (ag__decide(&r).action != AG_ALLOW)
		return false;
	if (op != AG_OP_WRITE && op != AG_OP_CHMOD)
		return true;
	ag_request_t root = {.op = op, .path = "/"};
	return ag_decide(ag__st.rs, &root).action == AG_ALLOW;
}

/* The stat ag_resolve left out (AG_RESOLVE_NOSTAT): the same object, the
 * last component not followed. */
void ag__look(int dirfd, const char *path, ag_pathinfo_t *i)
{
	struct stat st;

	*i = (ag_pathinfo_t){0};
	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		ag_pathinfo_fill(i, &st);
}

int ag__gate_fd(ag_op_t op, int fd)
{
	char buf[PATH_MAX];
	struct stat st;
	ag_pathinfo_t info = {0};
	int saved = errno;

	if (!ag__guarded(op))
		return 0;
	bool made;
	ssize_t n = ag__fdpath_made(fd, buf, sizeof(buf), &made);
	if (n == 0 || (n < 0 && (errno == EBADF || errno == ENOENT))) {
		errno = saved; /* not a file, or no such descriptor: the call says so */
		return 0;
	}
	if (n < 0)
		return -1;
	/* A file this process made has its one name (a link ends the entry),
	 * and what a stat would add (that the process made it) can only let
	 * a refusal through: an allow stands without it. tar sets the times,
	 * owner and mode of every file it makes. */
	if (made && ag__st.phase == AG_PHASE_READY) {
		ag_request_t r = {.op = op, .path = buf, .exists = ag__exists};
		if (ag__decide(&r).action == AG_ALLOW) {
			errno = saved;
			return 0;
		}
	}
	ag_request_t req = {.op = op, .path = buf};
	if (fstat(fd, &st) == 0)
		ag_pathinfo_fill(&info, &st);
	int rc = ag__judge(&req, &info, NULL, ag__multilinked(op, &info));
	if (rc == 0)
		errno = saved;
	return rc;
}

int ag__gate_path(ag_op_t op, int dirfd, const char *path, int rflags)
{
	char buf[PATH_MAX];
	ag_pathinfo_t info;
	int saved = errno;

	if (!ag__guarded(op) || !path)
		return 0;
	if (!path[0])
		return ag__gate_fd(op, dirfd);
	bool lazy = !(rflags & AG_RESOLVE_FOLLOW);
	if (ag_resolve(dirfd, path, rflags | (lazy ? AG_RESOLVE_NOSTAT : 0), buf, sizeof(buf),
		       &info) != 0)
		return ag__unresolved(saved);
	if (!lazy || !ag__allowed_unseen(op, buf)) {
		if (lazy)
			ag__look(dirfd, path, &info);
		/* Nothing there, nothing to keep: the kernel answers ENOENT,
		 * which "rm -f" and clean-up scripts take as done. The attempt
		 * is still logged (as audited) where the policy forbids it:
		 * it may be all the log ever sees of a program whose writes
		 * the floor refused unseen (Claude Code's temp file beside
		 * ~/.bashrc). */
		if (op == AG_OP_DELETE && !info.exists) {
			ag_request_t req = {.op = op, .path = buf};
			ag_verdict_t v = ag__decide(&req);
			if (v.action != AG_ALLOW) {
				v.action = AG_AUDIT;
				v.which = 1;
				ag__answer(&req, &v, NULL,
					   "nothing there to delete; the kernel answers ENOENT");
			}
			errno = saved;
			return 0;
		}
		ag_request_t req = {.op = op, .path = buf};
		if (ag__judge(&req, &info, NULL, ag__multilinked(op, &info)) != 0)
			return -1;
	}
	errno = saved;
	return op == AG_OP_CREATE && ag__worth_noting(buf) ? 1 : 0;
}

/* A last component that names an entry of its directory. */
static bool plain_name(const char *n)
{
	return n[0] && strcmp(n, ".") != 0 && strcmp(n, "..") != 0;
}

/* rename("dir/a", "dir/b"), the usual case (an editor's save, git's lock
 * files): both names in one directory, written the same way from the same
 * starting point. The second path then resolves to the first's directory
 * with its own last component, so that directory is resolved once. False
 * when the paths are not written so, and the caller resolves p2 itself. */
static bool sibling(int d1, const char *p1, const char *b1, int d2, const char *p2, char *b2,
		    size_t sz)
{
	const char *s1 = strrchr(p1, '/'), *s2 = strrchr(p2, '/');
	size_t l1 = s1 ? (size_t)(s1 - p1) + 1 : 0, l2 = s2 ? (size_t)(s2 - p2) + 1 : 0;
	const char *n1 = p1 + l1, *n2 = p2 + l2;

	if (l1 != l2 || memcmp(p1, p2, l1) != 0 || (p1[0] != '/' && d1 != d2) ||
	    !plain_name(n1) || !plain_name(n2))
		return false;
	size_t bl = strlen(b1), nl1 = strlen(n1), nl2 = strlen(n2);
	if (bl <= nl1 || b1[bl - nl1 - 1] != '/' || strcmp(b1 + bl - nl1, n1) != 0)
		return false;
	size_t keep = bl - nl1;
	if (keep + nl2 >= sz)
		return false;
	memcpy(b2, b1, keep);
	memcpy(b2 + keep, n2, nl2 + 1);
	return true;
}

int ag__gate_rename(int d1, const char *p1, int d2, const char *p2, unsigned flags)
{
	char b1[PATH_MAX], b2[PATH_MAX];
	ag_pathinfo_t i1, i2;
	int saved = errno;

	if (!(ag__guarded(AG_OP_RENAME) || ag__guarded(AG_OP_CREATE)) || !p1 || !p2)
		return 0;
	if (ag_resolve(d1, p1, AG_RESOLVE_NOSTAT, b1, sizeof(b1), &i1) != 0)
		return ag__unresolved(saved);
	if (sibling(d1, p1, b1, d2, p2, b2, sizeof(b2)))
		i2 = (ag_pathinfo_t){0}; /* as AG_RESOLVE_NOSTAT leaves it */
	else if (ag_resolve(d2, p2, AG_RESOLVE_NOSTAT, b2, sizeof(b2), &i2) != 0)
		return ag__unresolved(saved);
	if (ag__allowed_unseen(AG_OP_RENAME, b1) && ag__allowed_unseen(AG_OP_RENAME, b2) &&
	    ag__allowed_unseen(AG_OP_CREATE, b2)) {
		errno = saved;
		return 0;
	}
	ag__look(d1, p1, &i1);
	ag__look(d2, p2, &i2);
	/* Moving onto an existing name replaces that file; onto a free name it
	 * creates one. An exchange renames both. */
	bool replaces = i2.exists || (flags & RENAME_EXCHANGE);
	/* Nothing at the source: the kernel answers ENOENT, as it does for a
	 * delete of a missing name (and "mv" says "No such file", not
	 * "Permission denied"), logged as audited where the policy forbids
	 * it. Only where the destination is free to take whatever arrives: a
	 * source made meanwhile would reach it unjudged. */
	if (!i1.exists && !(flags & RENAME_EXCHANGE) &&
	    ag__allowed_unseen(replaces ? AG_OP_RENAME : AG_OP_CREATE, b2)) {
		ag_request_t src = {.op = AG_OP_RENAME, .path = b1};
		ag_verdict_t v = ag__decide(&src);
		if (v.action != AG_ALLOW) {
			v.action = AG_AUDIT;
			v.which = 1;
			ag__answer(&src, &v, NULL, "nothing there to rename; the kernel answers ENOENT");
		}
		errno = saved;
		return 0;
	}
	ag_request_t req = {.op = AG_OP_RENAME,
			    .path = b1,
			    .op2 = replaces ? AG_OP_RENAME : AG_OP_CREATE,
			    .path2 = b2};
	if (ag__judge(&req, &i1, &i2, false) != 0)
		return -1;
	errno = saved;
	return 0;
}

int ag__gate_link(int d1, const char *p1, int d2, const char *p2, int flags)
{
	char b1[PATH_MAX], b2[PATH_MAX];
	ag_pathinfo_t i1 = {0}, i2;
	struct stat st;
	int saved = errno;

	if (!(ag__guarded(AG_OP_LINK) || ag__guarded(AG_OP_WRITE) || ag__guarded(AG_OP_CREATE)) ||
	    !p1 || !p2)
		return 0;
	if (!p1[0] && (flags & AT_EMPTY_PATH)) {
		ssize_t n = ag_fd_path(d1, b1, sizeof(b1));
		if (n <= 0 || fstat(d1, &st) != 0)
			return n < 0 ? ag__unresolved(saved) : 0;
		ag_pathinfo_fill(&i1, &st);
	} else if (ag_resolve(d1, p1, (flags & AT_SYMLINK_FOLLOW) ? AG_RESOLVE_FOLLOW : 0, b1,
			      sizeof(b1), &i1) != 0) {
		return ag__unresolved(saved);
	}
	if (ag_resolve(d2, p2, 0, b2, sizeof(b2), &i2) != 0)
		return ag__unresolved(saved);
	ag_request_t req = {.op = AG_OP_LINK, .path = b1, .op2 = AG_OP_CREATE, .path2 = b2};
	if (ag__judge(&req, &i1, &i2, false) != 0)
		return -1;
	errno = saved;
	return 0;
}

int ag__refuse_unresolved(ag_op_t op, int dirfd, const char *path, const char *note)
{
	char buf[PATH_MAX];
	ag_verdict_t v = {.action = AG_DENY, .rule = AG_RULE_UNGUARDABLE, .err = EACCES};

	/* Named in the log as written beneath its directory. */
	ssize_t n = path ? ag__fdpath(dirfd, buf, sizeof(buf)) : -1;
	if (n <= 0 || (size_t)n + 1 + strlen(path) >= sizeof(buf)) {
		snprintf(buf, sizeof(buf), "%s", path ? path : "");
	} else {
		while (*path == '/')
			path++;
		snprintf(buf + n, sizeof(buf) - (size_t)n, "/%s", path);
		ag_path_lexical(buf);
	}
	ag_request_t req = {.op = op, .path = buf};
	return ag__answer(&req, &v, NULL, note);
}

void ag__note_created(int dirfd, const char *path, int fd)
{
	struct stat st;
	int saved = errno;
	int rc = -1;

	if (fd >= 0)
		rc = fstat(fd, &st);
	else if (path)
		rc = fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW);
	if (rc == 0)
		ag__created_add(st.st_dev, st.st_ino);
	errno = saved;
}
