/* Load-time set-up and the refusal path: what the guard knows about this
 * process, the log descriptor, and what a refusal writes. After the
 * constructor nothing here allocates, locks or reads the environment. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "ask.h"
#include "blob.h"
#include "guard.h"
#include "str.h"

struct ag_state ag__st AG_HOT;
__thread int ag__depth __attribute__((tls_model("initial-exec")));

/* The session's shared map ("" if none) and the log: pointers to the
 * frozen settings or into the mapped ruleset, which outlive the process's
 * own environment; copied only where computed here (no launcher). */
static const char *created_file AG_HOT = "";
static const char *_Atomic log_path AG_HOT = "";
static char computed[2][PATH_MAX];

static const char *keep_path(int which, const char *s)
{
	size_t n = strlen(s);
	if (n >= sizeof(computed[which]))
		return "";
	memcpy(computed[which], s, n + 1);
	return computed[which];
}

/* ---- the log ------------------------------------------------------------
 * Opened, written once and closed for each line. A descriptor kept open
 * would sit on a number the program may claim: bash takes any close-on-exec
 * descriptor from 10 up for its own and redirects over it, and programs close
 * every descriptor they did not open. Refusals are rare and coalesced, so
 * the three extra system calls cost nothing that matters. */
static void make_parents(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0700);
		*p = '/';
	}
}

static void log_line(const char *line, size_t n)
{
	struct stat st;
	int fd;

	const char *path = log_path;
	if (!path[0])
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == ENOENT) {
		make_parents(path);
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	}
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		(void)!write(fd, line, n);
	close(fd);
}

/* ---- files this session created -----------------------------------------
 * "Creating new files outside stays allowed": an installer that creates a
 * file may then chmod, rename or remove it, often from another process
 * (cp, then chmod). The session shares one table of created inodes, mapped
 * from the guard's protected state directory; inserted and probed with
 * atomics only. Without the shared table a process keeps its own.
 * It is mapped on first use, not at start: most processes never create a
 * file outside nor meet a refusal, and five system calls a start add up. */
#define LOCAL_SLOTS 4096u
#define PROBES 64u
static _Atomic uint64_t local_created[LOCAL_SLOTS];
static _Atomic(_Atomic uint64_t *) shared_created AG_HOT;
static atomic_int created_tried AG_HOT;

static void map_created(const char *path);

/* Two threads at the first use: the loser may use the local table once. */
static _Atomic uint64_t *created_table(uint32_t *mask)
{
	_Atomic uint64_t *t = atomic_load(&shared_created);
	if (!t && created_file[0] && !atomic_exchange(&created_tried, 1)) {
		int saved = errno;
		map_created(created_file);
		errno = saved;
		t = atomic_load(&shared_created);
	}
	*mask = t ? AG_CREATED_SLOTS - 1 : LOCAL_SLOTS - 1;
	return t ? t : local_created;
}

static uint64_t inode_key(dev_t dev, ino_t ino)
{
	uint64_t k = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
	return k | 1;
}

void ag__created_add(dev_t dev, ino_t ino)
{
	uint64_t k = inode_key(dev, ino);
	uint32_t created_mask;
	_Atomic uint64_t *created = created_table(&created_mask);
	for (uint32_t i = 0; i < PROBES; i++) {
		_Atomic uint64_t *slot = &created[(k + i) & created_mask];
		uint64_t cur = 0;
		if (atomic_compare_exchange_strong(slot, &cur, k) || cur == k)
			return;
	}
}

bool ag__created_here(dev_t dev, ino_t ino)
{
	uint64_t k = inode_key(dev, ino);
	if (dev == 0 && ino == 0)
		return false;
	uint32_t created_mask;
	_Atomic uint64_t *created = created_table(&created_mask);
	for (uint32_t i = 0; i < PROBES; i++) {
		uint64_t cur = atomic_load(&created[(k + i) & created_mask]);
		if (cur == k)
			return true;
		if (cur == 0)
			return false;
	}
	return false;
}

void *ag__map_table(const char *path, size_t size, bool create)
{
	struct stat st;
	void *m = NULL;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);

	if (fd < 0)
		return NULL;
	/* The first user sizes a new one; the size alone says it is ours. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    (st.st_size == (off_t)size ||
	     (create && st.st_size == 0 && ftruncate(fd, (off_t)size) == 0))) {
		m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			m = NULL;
	}
	close(fd);
	return m;
}

static void map_created(const char *path)
{
	void *m = ag__map_table(path, AG_CREATED_SLOTS * sizeof(uint64_t), false);
	if (m)
		atomic_store(&shared_created, (_Atomic uint64_t *)m);
}

/* ---- coalescing ---------------------------------------------------------
 * A program retrying the same refused call would flood the log. The first
 * refusal is written; repeats are counted, written at 10, 100, 1000... and
 * once more at exit, each line carrying the count so far. */
#define NSLOTS 32
static struct slot {
	_Atomic uint64_t key;
	_Atomic unsigned count, written;
	unsigned owner; /* the lineage number of the process that kept it */
	ag_op_t op;
	int rule, err, port;
	ag_action_t action;
	char path[PATH_MAX], path2[PATH_MAX];
	char addr[64], host[256];
} slots[NSLOTS];

struct refusal {
	ag_op_t op;
	const char *path, *path2;
	const char *const *argv;
	const char *note;
	const char *addr, *host; /* connect to an IP address */
	int port;
	int rule, err;
	ag_action_t action;
	int answer; /* AG_ANS_*: what the person said to an "ask" rule */
};
static void emit(const struct refusal *f, unsigned repeat);

static uint64_t refusal_key(const struct refusal *f)
{
	uint64_t h = ag__hash_bytes(0xcbf29ce484222325ull ^ ((uint64_t)f->op << 32 | (unsigned)f->rule),
				    f->path ? f->path : "", f->path ? strlen(f->path) + 1 : 0);
	if (f->path2)
		h = ag__hash_bytes(h, f->path2, strlen(f->path2));
	if (f->addr)
		h = ag__hash_bytes(h ^ (uint64_t)f->port, f->addr, strlen(f->addr));
	return h;
}

static bool power_of_ten(unsigned n)
{
	while (n >= 10 && n % 10 == 0)
		n /= 10;
	return n == 1;
}

/* Whose a slot is, told without a system call: a refused call repeated
 * in a loop pays no getpid. Every process starts as 1; a fork child that
 * inherited slots in use takes the next number (ag__report_forked), so
 * that its parent's counts stay its parent's. A vfork or posix_spawn child
 * shares its parent's memory and so its number: its refusals count with
 * the parent's, and the parent's exit writes what is left of them. */
static _Atomic unsigned lineage AG_HOT = 1;
/* The last lineage to keep a refusal in a slot. Exit looks at the slots
 * only in that process: they are 32 whole refusals, and reading them all
 * in every process that refused nothing faulted in some sixty pages. */
static _Atomic unsigned kept_by AG_HOT;

AG_HOT_TEXT void ag__report_forked(void)
{
	if (atomic_load_explicit(&kept_by, memory_order_relaxed))
		atomic_fetch_add_explicit(&lineage, 1, memory_order_relaxed);
}

static void keep(struct slot *s, const struct refusal *f, unsigned me)
{
	atomic_store(&kept_by, me);
	s->owner = me;
	s->op = f->op;
	s->rule = f->rule;
	s->err = f->err;
	s->port = f->port;
	s->action = f->action;
	snprintf(s->path, sizeof(s->path), "%s", f->path ? f->path : "");
	snprintf(s->path2, sizeof(s->path2), "%s", f->path2 ? f->path2 : "");
	snprintf(s->addr, sizeof(s->addr), "%s", f->addr ? f->addr : "");
	snprintf(s->host, sizeof(s->host), "%s", f->host ? f->host : "");
}

/* What a slot held, as a refusal to write. */
static struct refusal held(const struct slot *s)
{
	return (struct refusal){.op = s->op, .path = s->path[0] ? s->path : NULL,
				.path2 = s->path2[0] ? s->path2 : NULL,
				.addr = s->addr[0] ? s->addr : NULL,
				.host = s->host[0] ? s->host : NULL, .port = s->port,
				.rule = s->rule, .err = s->err, .action = s->action};
}

/* Writes the refusal unless it repeats one this process made already: the
 * first is written, then the 10th, 100th... and the count at exit. */
static void report(const struct refusal *f)
{
	uint64_t key = refusal_key(f);
	unsigned me = atomic_load_explicit(&lineage, memory_order_relaxed);
	struct slot *s = &slots[key % NSLOTS];
	uint64_t cur = atomic_load(&s->key);

	if (cur == key && s->owner == me) {
		unsigned n = atomic_fetch_add(&s->count, 1) + 1;
		if (power_of_ten(n)) {
			atomic_store(&s->written, n);
			emit(f, n);
		}
		return;
	}
	/* Taking over a slot: its unwritten repeats are written first. */
	struct slot old;
	unsigned pending = 0;
	if (cur && s->owner == me && atomic_load(&s->count) > atomic_load(&s->written)) {
		memcpy(&old, s, sizeof(old));
		pending = atomic_load(&s->count);
	}
	if (atomic_compare_exchange_strong(&s->key, &cur, key)) {
		if (pending) {
			struct refusal o = held(&old);
			emit(&o, pending);
		}
		atomic_store(&s->count, 1);
		atomic_store(&s->written, 1);
		keep(s, f, me);
	}
	emit(f, 1);
}

static const char *rule_name(int rule)
{
	if (rule == AG_RULE_UNAVAILABLE)
		return "policy-unavailable";
	if (rule == AG_RULE_FLOOR)
		return "kernel-floor";
	if (rule == AG_RULE_UNGUARDABLE)
		return "unguardable";
	return ag_ruleset_rule_id(ag__st.rs, rule);
}

/* Read when a line is written, not at start: most processes never refuse,
 * and a vfork child reads its parent's, which it still is. */
static const char *self_exe(char *buf, size_t sz)
{
	ssize_t n = readlink("/proc/self/exe", buf, sz - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void emit(const struct refusal *f, unsigned repeat)
{
	char line[3 * PATH_MAX + 2048], exe[PATH_MAX];
	struct timespec ts;
	ag_logrec_t rec = {
		.pid = getpid(), .ppid = getppid(), .exe = self_exe(exe, sizeof(exe)), .op = f->op, .path = f->path,
		.path2 = f->path2, .argv = f->argv, .port = f->addr ? f->port : -1,
		.rule = rule_name(f->rule), .action = f->action, .err = f->err,
		.audit_mode = ag__st.audit, .repeat = repeat, .note = f->note, .addr = f->addr,
		.host = f->host, .answer = f->answer ? ag__ask_name(f->answer) : NULL,
	};

	clock_gettime(CLOCK_REALTIME, &ts);
	rec.ts_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	log_line(line, ag_log_format(line, sizeof(line), &rec));
	bool refused = f->action == AG_DENY || (f->action == AG_ASK && !ag__ask_allowed(f->answer));
	if (repeat == 1 && refused && !ag__st.audit) {
		size_t n = ag_log_format_human(line, sizeof(line), &rec);
		(void)!write(STDERR_FILENO, line, n);
	}
}

bool ag__exists(const char *path)
{
	struct stat st;
	int saved = errno;
	bool there = fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
	errno = saved;
	return there;
}

/* When the session began: the kernel's birth time of the created-files
 * table the launch made (ns since the epoch); 0 when unknown. */
static int64_t session_born(void)
{
	static _Atomic int64_t born = -1;
	int64_t b = atomic_load(&born);
	struct statx sx;

	if (b >= 0)
		return b;
	b = 0;
	if (created_file[0] &&
	    statx(AT_FDCWD, created_file, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) == 0 &&
	    (sx.stx_mask & STATX_BTIME))
		b = (int64_t)sx.stx_btime.tv_sec * 1000000000 + sx.stx_btime.tv_nsec;
	atomic_store(&born, b);
	return b;
}

/* A file born during the session, whoever made it. A program that creates
 * its files with raw system calls (Claude Code's Write tool does, then sets
 * the mode through libc before renaming the file into place) is unseen by
 * the created-files table; refusing that chmod makes it overwrite the
 * target in place instead, with calls nobody sees. So the mode of such a
 * file may change, where only the catch-all rule refuses it. */
static bool born_in_session(ag_op_t op, const char *path, const ag_pathinfo_t *info, int rule)
{
	int saved = errno;
	struct statx sx;
	bool born = false;

	if (op != AG_OP_CHMOD || !info || !info->exists || info->is_dir)
		return false;
	ag_request_t root = {.op = op, .path = "/"};
	int64_t start = session_born();
	if (start > 0 && ag_decide(ag__st.rs, &root).rule == rule &&
	    statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) == 0 &&
	    (sx.stx_mask & STATX_BTIME))
		born = (int64_t)sx.stx_btime.tv_sec * 1000000000 + sx.stx_btime.tv_nsec >= start;
	errno = saved;
	return born;
}

/* One memo for the process, taken with a flag that is never waited for:
 * the programs that decide in long runs of one directory (rm -r, tar x,
 * a build) decide from one thread, and a thread that finds it taken (by
 * another thread, or by the code a signal handler interrupted) decides
 * without it. No lock: safe in a vfork child and in a signal handler. */
static ag_memo_t memo;
static atomic_bool memo_taken;
/* Read by every fork child, which writes the memo's page only if used. */
AG_HOT static _Atomic bool memo_used;

ag_verdict_t ag__decide(const ag_request_t *req)
{
	if (atomic_exchange_explicit(&memo_taken, true, memory_order_acquire))
		return ag_decide(ag__st.rs, req);
	if (!atomic_load_explicit(&memo_used, memory_order_relaxed))
		atomic_store_explicit(&memo_used, true, memory_order_relaxed);
	ag_verdict_t v = ag_decide_memo(ag__st.rs, req, &memo);
	atomic_store_explicit(&memo_taken, false, memory_order_release);
	return v;
}

/* Another thread (or the code a signal handler interrupted) may have
 * been filling it when this one forked: then it is emptied. Otherwise
 * it is whole, and the child's writing nothing spares it a copy of the
 * page before its exec. */
AG_HOT_TEXT void ag__decide_forked(void)
{
	if (!atomic_load_explicit(&memo_used, memory_order_relaxed) ||
	    !atomic_load_explicit(&memo_taken, memory_order_relaxed))
		return;
	memo.rs = NULL;
	atomic_store_explicit(&memo_taken, false, memory_order_relaxed);
}

static ag_verdict_t side(ag_op_t op, const char *path, const ag_pathinfo_t *info, bool multi,
			 int which)
{
	ag_request_t r = {.op = op, .path = path,
			  .flags = info && info->exists && info->is_dir ? AG_REQ_DIR1 : 0,
			  .exists = ag__exists};
	ag_verdict_t v = ag__decide(&r);

	if (multi && v.action != AG_DENY) {
		ag_request_t root = {.op = op, .path = "/"};
		ag_verdict_t m = ag_decide(ag__st.rs, &root);
		if (ag_action_stricter(m.action, v.action))
			v = m;
	}
	if (v.action != AG_ALLOW && info && info->exists &&
	    (ag__created_here(info->dev, info->ino) || born_in_session(op, path, info, v.rule)))
		v.action = AG_ALLOW;
	v.which = which;
	return v;
}

int ag__judge(const ag_request_t *req, const ag_pathinfo_t *i1, const ag_pathinfo_t *i2,
	      bool multilink)
{
	ag_verdict_t v;

	if (ag__st.phase == AG_PHASE_FAILED) {
		v = (ag_verdict_t){.action = AG_DENY, .rule = AG_RULE_UNAVAILABLE, .err = EACCES,
				   .which = 1};
	} else {
		v = side(req->op, req->path, i1, multilink, 1);
		if (req->path2) {
			ag_verdict_t v2 = side(req->op2, req->path2, i2, false, 2);
			if (ag_action_stricter(v2.action, v.action))
				v = v2;
		}
		if (v.action == AG_ALLOW)
			return 0;
	}
	return ag__answer(req, &v, NULL, NULL);
}

/* ---- asking ------------------------------------------------------------------
 * A remembered yes lets the operation through silently: rm asked about once
 * for a tree then deletes every file in it under that one answer. */
static const char *exe_name(char *buf, size_t sz)
{
	const char *exe = self_exe(buf, sz);
	const char *s = strrchr(exe, '/');
	return s ? s + 1 : exe[0] ? exe : "this program";
}

static int asked(struct refusal *f, ag_op_t op, const char *scope, bool prefixes,
		 const char *prog, const char *what)
{
	int saved = errno;
	int a = ag__ask_recall(op, scope, prefixes);
	char exe[PATH_MAX];

	if (a == AG_ANS_YES)
		return 0;
	if (a == AG_ANS_NONE)
		a = ag__ask(op, scope, prog ? prog : exe_name(exe, sizeof(exe)), what);
	f->answer = a;
	report(f);
	if (ag__ask_allowed(a)) {
		errno = saved;
		return 0;
	}
	errno = f->err;
	return -1;
}

int ag__answer_ask(const ag_request_t *req, const ag_verdict_t *v, const char *const *argv,
		   const char *note, const char *prog, long files)
{
	char what[2 * PATH_MAX + 64], count[32] = "";
	bool second = v->which == 2 && req->path2;
	ag_op_t op = second ? req->op2 : req->op;
	const char *path = second ? req->path2 : req->path;
	struct refusal f = {.op = req->op, .path = req->path, .path2 = req->path2, .argv = argv,
			    .note = note, .rule = v->rule, .err = v->err, .action = AG_ASK};

	if (files >= 0) {
		ag__thousands(count, sizeof(count), files);
		snprintf(what, sizeof(what), "%s %s (%s file%s)", ag_op_to_string(op), path, count,
			 files == 1 ? "" : "s");
	} else if (req->path2) {
		snprintf(what, sizeof(what), "%s %s to %s", ag_op_to_string(req->op), req->path,
			 req->path2);
	} else {
		snprintf(what, sizeof(what), "%s %s", ag_op_to_string(op), path);
	}
	return asked(&f, op, path, true, prog, what);
}

int ag__judge_net(const ag_request_t *req, const char *addr, int port)
{
	ag_verdict_t v = {.action = AG_DENY, .rule = AG_RULE_UNAVAILABLE, .err = EACCES};
	int saved = errno;

	if (ag__st.phase == AG_PHASE_READY)
		v = ag_decide(ag__st.rs, req);
	if (v.action == AG_ALLOW)
		return 0;
	struct refusal f = {.op = AG_OP_CONNECT, .addr = addr, .port = port, .host = req->host,
			    .rule = v.rule, .err = v.err, .action = v.action};
	if (v.action == AG_ASK && !ag__st.audit) {
		char what[512], scope[96];
		snprintf(scope, sizeof(scope), "%s port %d", addr, port);
		snprintf(what, sizeof(what), "connect to %s%s%s%s", scope, req->host ? " (" : "",
			 req->host ? req->host : "", req->host ? ")" : "");
		return asked(&f, AG_OP_CONNECT, scope, false, NULL, what);
	}
	report(&f);
	if (v.action == AG_AUDIT || ag__st.audit) {
		errno = saved;
		return 0;
	}
	errno = v.err;
	return -1;
}

int ag__answer(const ag_request_t *req, const ag_verdict_t *v, const char *const *argv,
	       const char *note)
{
	int saved = errno;
	struct refusal f = {.op = req->op, .path = req->path, .path2 = req->path2, .argv = argv,
			    .note = note, .rule = v->rule, .err = v->err, .action = v->action};

	if (v->action == AG_ASK && !ag__st.audit)
		return ag__answer_ask(req, v, argv, note, NULL, -1);
	report(&f);
	if (v->action == AG_ALLOW || v->action == AG_AUDIT || ag__st.audit) {
		errno = saved;
		return 0;
	}
	errno = v->err;
	return -1;
}

/* ---- start and end ------------------------------------------------------- */
static void fail_closed(const ag_error_t *err)
{
	char msg[1200];

	/* Said once per session: children inherit the marker. */
	if (getenv("AGENTGUARD_FAILED"))
		return;
	int n = snprintf(msg, sizeof(msg),
			 "agentguard: cannot load the policy (%s:%d:%d: %s); refusing every "
			 "guarded operation\n",
			 err->source, err->line, err->column, err->text);
	(void)!write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	ag__freeze_set("AGENTGUARD_FAILED", "1");
}

/* Without the launcher the first guarded process fixes the session for its
 * children: it compiles once, stores the result and passes it on. */
static const ag_ruleset_t *load(ag_error_t *err)
{
	const char *compiled = getenv("AGENTGUARD_COMPILED");
	static ag_session_t s; /* large; the constructor runs once */
	void *blob;
	size_t len;
	char path[PATH_MAX];

	if (compiled && *compiled) {
		const ag_ruleset_t *rs = ag_ruleset_map_stored(compiled, err);
		if (rs)
			return rs;
	}
	if (ag_session_from_env(&s, err) != 0)
		return NULL;
	/* Even a guard that cannot load its policy logs where it was told to. */
	log_path = s.log;
	if (ag_session_compile(&s, &blob, &len, err) != 0)
		return NULL;
	const ag_ruleset_t *rs = ag_ruleset_view(blob, len, err);
	if (rs && ag_session_store(&s, blob, len, path, sizeof(path)) == 0) {
		ag__freeze_set("AGENTGUARD_COMPILED", path);
		ag__freeze_set("AGENTGUARD_WORKSPACE", s.workspace);
		ag__freeze_set("AGENTGUARD_LOG", s.log);
		if (!getenv("AGENTGUARD_CREATED") &&
		    ag_session_created_map(&s, path, sizeof(path)) == 0) {
			ag__freeze_set("AGENTGUARD_CREATED", path);
			created_file = keep_path(0, path);
		}
	}
	return rs;
}

/* The answer table is mapped only by sessions whose policy can ask. A
 * timeout from the environment (AGENTGUARD_ASK_TIMEOUT, seconds) wins over
 * the policy's: tests and CI shorten it without another policy. */
static void init_ask(const ag_ruleset_t *rs)
{
	bool asks = false;
	for (size_t i = 0; i < ag_ruleset_nrules(rs) && !asks; i++) {
		uint32_t ops;
		ag_action_t a;
		int e;
		ag_ruleset_rule(rs, (int)i, &ops, &a, &e);
		asks = a == AG_ASK;
	}
	if (!asks)
		return;
	const char *t = getenv("AGENTGUARD_ASK_TIMEOUT");
	long secs = t ? strtol(t, NULL, 10) : 0;
	ag__ask_init(created_file, secs > 0 && secs <= 3600 ? (unsigned)secs
							    : ag_ruleset_ask_timeout(rs));
}

static void become_ready(const ag_ruleset_t *rs)
{
	atomic_store(&ag__st.guarded, ag_ruleset_guarded_ops(rs));
	atomic_store(&ag__st.audit, strcmp(ag_ruleset_var(rs, "MODE"), "audit") == 0);
	log_path = ag_ruleset_var(rs, "LOG"); /* the mapping stays */
	atomic_store_explicit(&ag__st.phase, AG_PHASE_READY, memory_order_release);
}

static void become_failed(const ag_error_t *err)
{
	atomic_store(&ag__st.guarded, AG_OPS_ALL);
	atomic_store_explicit(&ag__st.phase, AG_PHASE_FAILED, memory_order_release);
	static atomic_bool said;
	if (!atomic_exchange(&said, true))
		fail_closed(err);
}

/* The compiled policy the launcher stored, mapped by the first hook that
 * needs it. Two threads may race here: both map, the first to publish
 * wins and the other unmaps its copy; neither waits for the other (a fork
 * between the two stores must not leave a child waiting forever). The
 * stored file is not compiled again here if it cannot be mapped: that
 * would load jansson and allocate, perhaps in a vfork child. */
void ag__ready(void)
{
	ag_error_t err = {0};
	const char *compiled = ag__frozen("AGENTGUARD_COMPILED");

	ag__depth++;
	const ag_ruleset_t *rs = compiled ? ag_ruleset_map_stored(compiled, &err) : NULL;
	if (!rs) {
		if (!compiled) {
			strcpy(err.source, "AGENTGUARD_COMPILED");
			strcpy(err.text, "the setting is gone");
		}
		become_failed(&err);
		ag__depth--;
		return;
	}
	const ag_ruleset_t *first = NULL;
	if (atomic_compare_exchange_strong(&ag__st.rs, &first, rs)) {
		init_ask(rs);
	} else {
		munmap((void *)rs, ((const struct ag_blob_hdr *)rs)->total_len);
		rs = first;
	}
	become_ready(rs);
	ag__depth--;
}

/* No launcher: compile the policy here, once for the session. Out of
 * line, so that its buffers are not on the stack of every start. */
__attribute__((noinline)) static void load_now(void)
{
	ag_error_t err = {0};
	const ag_ruleset_t *rs = load(&err);
	if (rs) {
		atomic_store(&ag__st.rs, rs);
		init_ask(rs);
		become_ready(rs);
		return;
	}
	const char *l = getenv("AGENTGUARD_LOG"), *h = getenv("HOME");
	if (l && l[0] == '/') {
		log_path = keep_path(1, l);
	} else if (!log_path[0] && h && h[0] == '/') {
		char p[PATH_MAX];
		if ((size_t)snprintf(p, sizeof(p), "%s/.local/state/agentguard/log.jsonl", h) <
		    sizeof(p))
			log_path = keep_path(1, p);
	}
	become_failed(&err);
}

AG_HOT_TEXT __attribute__((constructor)) static void ag_init(void)
{
	ag__depth++;
	ag__real_init();
	ag__freeze_env();
	const char *cm = ag__frozen("AGENTGUARD_CREATED");
	if (cm && cm[0] == '/')
		created_file = cm;
	const char *compiled = ag__frozen("AGENTGUARD_COMPILED");
	if (compiled && compiled[0] == '/') {
		/* The launcher's: mapped when first needed. Until then every
		 * operation counts as guarded, so that its hook gets there; the
		 * log is where the launcher said, should the mapping fail. */
		const char *l = ag__frozen("AGENTGUARD_LOG");
		if (l && l[0] == '/')
			log_path = l;
		atomic_store(&ag__st.guarded, AG_OPS_ALL);
		atomic_store_explicit(&ag__st.phase, AG_PHASE_LAZY, memory_order_release);
	} else {
		load_now();
	}
	/* The log is opened on the first refusal: most processes never refuse. */
	ag__depth--;
}

AG_HOT_TEXT __attribute__((destructor)) static void ag_fini(void)
{
	unsigned me = atomic_load(&lineage);
	if (atomic_load(&kept_by) != me)
		return;
	ag__depth++;
	for (int i = 0; i < NSLOTS; i++) {
		struct slot *s = &slots[i];
		unsigned n = atomic_load(&s->count);
		if (s->owner != me || n <= atomic_load(&s->written))
			continue;
		/* Marked written: a vfork child that exits (rather than
		 * _exit) after a failed exec runs this in its parent's memory,
		 * and the parent must not write the same count again. */
		atomic_store(&s->written, n);
		struct refusal f = held(s);
		emit(&f, n);
	}
	ag__depth--;
}
