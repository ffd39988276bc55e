/* The hook layer's shared state and gates. Everything stateful lives here;
 * the decision itself is ag_decide() in the core. */
#ifndef AG_GUARD_H
#define AG_GUARD_H


#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/fsverity.h>
#include <netdb.h>
#include <sys/socket.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>
#include <wordexp.h>

#include "agentguard.h"

#define AG_EXPORT __attribute__((visibility("default")))
/* The few variables every start writes or reads, kept together in .data:
 * beside the GOT, on a page the loader has already copied, not each on a
 * page of .bss of its own (a fresh page is a fault, 1-2 us in a VM). */
#define AG_HOT __attribute__((section(".data.ag_hot")))

#define AG_HOOK(fam, ret, name, params)                                                            \
	extern ret(*ag__real_##name) params;                                                       \
	AG_EXPORT ret name params;
#include "hooks.def"
#undef AG_HOOK

void ag__real_init(void);
void *ag__resolve_one(void *slot, const char *name);
/* Resolves the hooks a child runs between fork and exec (the exec and fd
 * families) in the parent, before its first fork. */
void ag__resolve_exec(void);
/* This library's path as the loader has it, or "" (known after ag__real_init). */
const char *ag__self_path(void);
#define REAL(name)                                                                                 \
	(__builtin_expect(ag__real_##name != NULL, 1)                                              \
		 ? ag__real_##name                                                                 \
		 : (__typeof__(ag__real_##name))ag__resolve_one((void *)&ag__real_##name, #name))

/* LAZY: the launcher's compiled policy is mapped by the first hook that
 * needs it, not at start: a process that makes no guarded call (true,
 * echo, a compiler pass) never pays for it. */
enum { AG_PHASE_NONE, AG_PHASE_READY, AG_PHASE_FAILED, AG_PHASE_LAZY };

/* Set once; racing first hooks in two threads set the same values. */
struct ag_state {
	_Atomic int phase;
	const ag_ruleset_t *_Atomic rs;
	_Atomic uint32_t guarded; /* ops worth resolving a path for */
	_Atomic bool audit;
};
extern struct ag_state ag__st;
extern __thread int ag__depth __attribute__((tls_model("initial-exec")));

/* Maps the policy (phase LAZY); after it the phase is READY or FAILED.
 * System calls only: it may run in a vfork child. */
void ag__ready(void);

/* A hook's first question: is this call ours to judge? Nested calls (the
 * guard's own, jansson's) and calls before the constructor pass through. */
static inline bool ag__enter(void)
{
	if (ag__depth)
		return false;
	int phase = atomic_load_explicit(&ag__st.phase, memory_order_acquire);
	if (phase == AG_PHASE_NONE)
		return false;
	if (__builtin_expect(phase == AG_PHASE_LAZY, 0))
		ag__ready();
	ag__depth++;
	return true;
}

static inline void ag__leave(void)
{
	ag__depth--;
}

/* glibc marks some paths nonnull that the kernel accepts as NULL (utimensat
 * on a descriptor); this hides the attribute so the test is kept. */
static inline const char *ag__nullable(const char *p)
{
	__asm__("" : "+r"(p));
	return p;
}

static inline bool ag__guarded(ag_op_t op)
{
	return ag__st.guarded & AG_OPBIT(op);
}

/* Gates return 0 to let the call through, -1 after a refusal (errno set),
 * and 1 to let it through and ask for ag__note_created() afterwards. They
 * keep errno on the way through. */
struct ag_open {
	int post_op; /* judge through the descriptor after the open; -1: no */
	bool note;   /* remember the created file */
};
int ag__open_pre(int dirfd, const char *path, int flags, struct ag_open *o);
int ag__open_read_fast(int dirfd, const char *path, int flags);
int ag__open_create_fast(int dirfd, const char *path, int flags, mode_t mode);
/* O_CREAT without O_EXCL, tried as a new file first where the last such
 * open found none there (-2: take ag__open_pre's path). */
int ag__open_create_try(int dirfd, const char *path, int flags, mode_t mode);
/* After a successful open: 0, or -1 refused (errno set; the caller closes). */
int ag__open_post(int fd, const struct ag_open *o);
int ag__gate_path(ag_op_t op, int dirfd, const char *path, int rflags);
int ag__gate_fd(ag_op_t op, int fd);
int ag__gate_rename(int d1, const char *p1, int d2, const char *p2, unsigned flags);
int ag__gate_link(int d1, const char *p1, int d2, const char *p2, int flags);
void ag__note_created(int dirfd, const char *path, int fd);
/* Shared by the gates (gates.c, gates_open.c); each is described where it
 * is defined, in gates.c. */
int ag__unresolved(int saved);
bool ag__multilinked(ag_op_t op, const ag_pathinfo_t *i);
bool ag__worth_noting(const char *path);
bool ag__allowed_unseen(ag_op_t op, const char *path);
void ag__look(int dirfd, const char *path, ag_pathinfo_t *i);
/* A call the guard cannot resolve as the kernel will: refused (logged as
 * "unguardable", with note) unless in audit mode; 0 to let it through. */
int ag__refuse_unresolved(ag_op_t op, int dirfd, const char *path, const char *note);

/* ag_decide through the process's memo of the last directory decided in
 * (ag_decide_memo); a thread that finds the memo in use decides without.
 * _forked: in a fork child, which may have inherited it in use. */
ag_verdict_t ag__decide(const ag_request_t *req);
void ag__decide_forked(void);
/* In a fork child: the refusals its parent counted stay its parent's. */
void ag__report_forked(void);

/* Logs and answers a decision; 0 allow, -1 refused with errno set. The
 * infos (may be NULL) let a process change files it created itself; with
 * multilink the write is also judged as if made at "/", since the file's
 * other names may lie anywhere. */
int ag__judge(const ag_request_t *req, const ag_pathinfo_t *i1, const ag_pathinfo_t *i2,
	      bool multilink);
/* Logs and answers a verdict reached outside the path gates (exec). */
int ag__answer(const ag_request_t *req, const ag_verdict_t *v, const char *const *argv,
	       const char *note);
/* A destination a connect or send names: 0 to go on, -1 refused. */
int ag__gate_sockaddr(const void *sa, socklen_t len);
/* The same for a connect to an IP address (addr as text, port). */
int ag__judge_net(const ag_request_t *req, const char *addr, int port);
#define AG_RULE_UNAVAILABLE (-2) /* the policy could not be loaded */
#define AG_RULE_UNGUARDABLE (-3) /* a program the preload cannot follow, by the policy's default */
#define AG_RULE_FLOOR (-4)       /* the kernel floor refused what the policy allowed */
/* After a call the policy allowed failed with EACCES: when the kernel
 * floor is why, log it and say so, as for the preload's own refusals.
 * Costs nothing on success; keeps errno. */
void ag__floor_explain(ag_op_t op, int dirfd, const char *path);
void ag__floor_explain_open(int dirfd, const char *path, int flags);
void ag__created_add(dev_t dev, ino_t ino);
/* lstat says it is there: what counts beneath a renamed or deleted tree. */
bool ag__exists(const char *path);
bool ag__created_here(dev_t dev, ino_t ino);

/* The shape of most hooks. */
/* Judge one path, make the call, remember a creation the policy would not
 * let the process undo otherwise. */
#define PATH_HOOK(op, dirfd, path, rflags, call)                                                   \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		int g_ = ag__gate_path(op, dirfd, path, rflags);                                   \
		int rc_ = g_ < 0 ? -1 : call;                                                      \
		if (g_ == 1 && rc_ == 0)                                                           \
			ag__note_created(dirfd, path, -1);                                         \
		else if (g_ >= 0 && rc_ == -1 && errno == EACCES)                                  \
			ag__floor_explain(op, dirfd, path);                                        \
		ag__leave();                                                                       \
		return rc_;                                                                        \
	} while (0)

#define FD_HOOK(op, fd, call)                                                                      \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		int rc_ = ag__gate_fd(op, fd) < 0 ? -1 : call;                                     \
		ag__leave();                                                                       \
		return rc_;                                                                        \
	} while (0)

/* The environment every child gets back: captured once at load. */
void ag__freeze_env(void);
void ag__freeze_set(const char *name, const char *value);
/* Builds the child's environment from envp into out (cap entries, the last
 * NULL), with LD_PRELOAD and AGENTGUARD_* restored; buf holds the new
 * LD_PRELOAD. No allocation. Returns 0, -1 with E2BIG when it does not fit. */
int ag__child_env(char *const *envp, char **out, size_t cap, char *buf, size_t bufsz);
/* The shim directory beside the library ("" if none). A guarded process
 * needs no shim: its exec hooks restore the guard themselves. */
const char *ag__shim_dir(void);
/* The launcher installed the kernel floor (Landlock and seccomp) under this
 * process, and the kernel agrees. */
bool ag__floor_active(void);
/* An ioctl request that sets inode flags (chattr) or seals the file's
 * contents for good (fs-verity, allowed on a descriptor opened for
 * reading), as the kernel reads it: its low 32 bits. */
static inline bool ag__sets_inode_flags(unsigned long request)
{
	unsigned r = (unsigned)request;
	return r == (unsigned)FS_IOC_SETFLAGS || r == (unsigned)FS_IOC32_SETFLAGS ||
	       r == (unsigned)FS_IOC_FSSETXATTR || r == (unsigned)FS_IOC_ENABLE_VERITY;
}
/* The floor's seccomp filter is on (with or without Landlock). */
bool ag__floor_seccomp(void);
/* Open flags as made under the floor: O_TRUNC asks to write. */
int ag__floor_open_flags(int flags);
static inline int ag__open_flags(int flags)
{
	return (flags & O_TRUNC) ? ag__floor_open_flags(flags) : flags;
}
/* Maps one of the session's shared tables (files beside the created-files
 * table in the guard's state directory) read-write, or NULL. With create,
 * a missing or empty file is made and sized. System calls only: safe in a
 * vfork child. The caller holds the depth (these are the guard's files). */
void *ag__map_table(const char *path, size_t size, bool create);
/* A frozen AGENTGUARD_* value as the launch fixed it, or NULL. */
const char *ag__frozen(const char *name);
/* Puts the frozen values back into this process's own environment, for
 * the calls that start a shell from it (system, popen, wordexp). */
void ag__restore_environ(void);

/* fopen-style mode to open(2) flags. */
int ag__fopen_flags(const char *mode);

#endif
