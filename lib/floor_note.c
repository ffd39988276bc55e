/* Landlock refuses silently: the program sees EACCES and nothing says why.
 * When a call the policy allowed comes back EACCES, and the floor derived
 * from that same policy does not grant the operation there, the refusal
 * was the floor's, and the guard says so the way it says its own: a log
 * line (rule "kernel-floor") and a line on stderr. A file whose mode
 * refuses the write, inside a granted place, is not blamed on the floor.
 * Only failing calls get here, so success costs nothing. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ag_floor.h"
#include "guard.h"
#include "rawsys.h"

static bool floor_on(void)
{
	/* 0 unknown, 1 on, 2 off: a floor cannot be lifted once on, and a
	 * vfork child writing the parent's copy writes the same answer. */
	static int state;
	if (state == 0)
		state = ag__floor_active() ? 1 : 2;
	return state == 1;
}

/* Creating, deleting and renaming act in the directory: Landlock checks
 * those rights, and the mode their write and search bits, on the parent.
 * Writing acts on the file itself. */
static bool in_dir(ag_op_t op, const ag_pathinfo_t *info)
{
	return (op != AG_OP_WRITE && op != AG_OP_CHMOD) || !info->exists;
}

/* real's directory into dir ("/" for a name in the root). */
static bool parent_of(const char *real, char *dir, size_t sz)
{
	size_t n = strlen(real);
	while (n > 1 && real[n - 1] != '/')
		n--;
	if (n > 1)
		n--; /* the slash, unless it is the root */
	if (n >= sz)
		return false;
	memcpy(dir, real, n);
	dir[n] = '\0';
	return true;
}

/* The file's mode and owner allow the call (access(2) asks only them, not
 * Landlock): an EACCES then came from the floor. */
static bool mode_allows(const char *at, bool dir)
{
	return AG_RAW(SYS_faccessat2, AT_FDCWD, at, dir ? W_OK | X_OK : W_OK, AT_EACCESS) == 0;
}

void ag__floor_explain(ag_op_t op, int dirfd, const char *path)
{
	char real[PATH_MAX];
	ag_pathinfo_t info;
	int saved = errno;

	if (!(AG_OPBIT(op) & AG_FLOOR_OPS) || !path || ag__st.phase != AG_PHASE_READY ||
	    !floor_on())
		return;
	if (ag_resolve(dirfd, path, 0, real, sizeof(real), &info) != 0) {
		errno = saved;
		return;
	}
	if (op == AG_OP_CREATE && info.exists && !info.is_dir)
		op = AG_OP_WRITE; /* O_CREAT on a file that is there */
	char dir[PATH_MAX];
	bool at_dir = in_dir(op, &info);
	const char *at = real;
	if (at_dir) {
		if (!parent_of(real, dir, sizeof(dir))) {
			errno = saved;
			return;
		}
		at = dir;
	}
	static const char not_named[] = "the kernel floor grants writes only where the policy "
					"names them (workspace, temp directories, tool state)",
			  not_at_launch[] = "the kernel floor grants only the places the policy "
					    "names that existed when the session began; this one "
					    "did not",
			  not_itself[] = "the kernel floor grants what is in the places the "
					 "policy names, not removing or renaming the places "
					 "themselves";
	/* Named by the policy, and granted where the kernel checks: a place
	 * may be written in, not removed or renamed itself (that right is its
	 * parent's), and only a place that existed at launch is granted. */
	bool named = ag_floor_covers(ag__st.rs, op, real);
	bool granted = at_dir ? ag_floor_covers(ag__st.rs, op, dir) : named;
	const char *note = NULL;
	if (!named)
		note = not_named;
	else if (!granted)
		note = op == AG_OP_CREATE || !info.exists ? not_at_launch : not_itself;
	else if (mode_allows(at, at_dir))
		note = not_at_launch;
	if (note) {
		ag_request_t req = {.op = op, .path = real};
		ag_verdict_t v = {.action = AG_DENY, .rule = AG_RULE_FLOOR, .err = EACCES,
				  .which = 1};
		ag__answer(&req, &v, NULL, note);
	}
	errno = saved;
}

/* An open that empties the file without asking to write (O_TRUNC with
 * O_RDONLY, or access mode 3) needs no Landlock right to write, so the
 * floor's seccomp filter refuses it (lib/core/landlock.c). A program the
 * preload sees has it made asking to read and write instead: the kernel
 * then truncates only where Landlock grants writing, and the program
 * works wherever it could write anyway (O_TRUNC already needs the file's
 * write permission). */
int ag__floor_open_flags(int flags)
{
	static int state; /* as in floor_on() */
	int acc = flags & O_ACCMODE;

	if (!(flags & O_TRUNC) || (flags & O_PATH) || acc == O_WRONLY || acc == O_RDWR)
		return flags;
	/* Before the constructor the environment is not read yet: unknown,
	 * and not remembered as off. */
	if (atomic_load_explicit(&ag__st.phase, memory_order_acquire) == AG_PHASE_NONE)
		return flags;
	if (state == 0)
		state = ag__floor_seccomp() ? 1 : 2;
	return state == 1 ? (flags & ~O_ACCMODE) | O_RDWR : flags;
}

void ag__floor_explain_open(int dirfd, const char *path, int flags)
{
	if (flags & O_CREAT)
		ag__floor_explain(AG_OP_CREATE, dirfd, path);
	else if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		ag__floor_explain(AG_OP_WRITE, dirfd, path);
}
