/* agentguard core: policy loading, compiled rulesets, the decision, path
 * resolution and log formatting. No hooks live here; the preload, the
 * agentguard program and the tests all link this same code. */
#ifndef AGENTGUARD_H
#define AGENTGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
	AG_OP_READ,
	AG_OP_WRITE,
	AG_OP_CREATE,
	AG_OP_DELETE,
	AG_OP_RENAME,
	AG_OP_LINK,
	AG_OP_CHMOD,
	AG_OP_EXEC,
	AG_OP_CONNECT,
	AG_OP__COUNT
} ag_op_t;

#define AG_OPBIT(op) (1u << (op))
#define AG_OPS_ALL ((1u << AG_OP__COUNT) - 1)

/* Allow, audit and deny are ordered by strictness. AG_ASK (allow only what
 * a person at the terminal agrees to) came later and sits between audit and
 * deny: combine verdicts with ag_action_stricter, not by value. */
typedef enum { AG_ALLOW = 0, AG_AUDIT = 1, AG_DENY = 2, AG_ASK = 3 } ag_action_t;
/* true when a is stricter than b */
bool ag_action_stricter(ag_action_t a, ag_action_t b);

typedef struct {
	int line;   /* 1-based; 0 when the error has no position */
	int column; /* 1-based; 0 when the error has no position */
	char source[256];
	char text[512];
	char where[128]; /* the JSON path of the bad element ("rules[3].ops[1]"), or "" */
} ag_error_t;

const char *ag_op_to_string(ag_op_t op);
int ag_op_from_string(const char *s); /* -1 when unknown */
const char *ag_action_to_string(ag_action_t a);
int ag_action_from_string(const char *s); /* -1 when unknown */
const char *ag_errno_to_string(int e);    /* "EACCES"; NULL if not one we name */
int ag_errno_from_string(const char *s);  /* 0 when unknown */

/* ---- globs ------------------------------------------------------------
 * Patterns are absolute paths. '*' and '?' stay within one component,
 * '[...]' is a class ('!' or '^' negates, ranges a-z), '\' escapes the next
 * character, and a whole component '**' matches zero or more components,
 * so a pattern "/ws/" followed by "**" matches "/ws" itself and everything
 * beneath it. */
bool ag_glob_match(const char *pat, size_t patlen, const char *str, size_t len);
/* true when the text has an unescaped * ? or [ */
bool ag_glob_has_magic(const char *s, size_t len);
/* Copies src into dst escaping * ? [ ] \ so it matches only itself.
 * Returns the length written, or (size_t)-1 if it does not fit. */
size_t ag_glob_escape(char *dst, size_t dstsz, const char *src);

/* ---- JSON positions --------------------------------------------------
 * jansson keeps no positions on values; this walks the source text to find
 * where a value sits. Path elements: object keys, or "[N]" for array
 * indexes. With key_pos, an object member's key position is returned
 * instead of its value's. Returns 0 and fills line/column (1-based),
 * -1 if the path is not in the text. */
int ag_json_locate(const char *text, size_t len, const char *const *path, size_t depth,
		   bool key_pos, int *line, int *column);

/* ---- policies ---------------------------------------------------------- */
struct stat;
typedef struct {
	const char *workspace; /* absolute, resolved */
	const char *home;
	const char *tmpdir;
	const char *log;  /* kept in the compiled form so children inherit them */
	const char *mode; /* "enforce" or "audit" */
	/* Globs for the guard's own files (log, policy, compiled rulesets):
	 * refused to every process the guard watches. NULL-terminated or NULL. */
	const char *const *self_paths;
	/* Told of every path the compiler looked at on the file system to
	 * resolve a literal prefix: link is its lstat where it is a symlink
	 * (and real where that leads, NULL if nowhere or into /proc, which is
	 * never followed), NULL where it is not
	 * one or does not exist. What a stored ruleset depends on besides the
	 * text and these variables. Optional. */
	void (*seen)(void *ctx, const char *path, const struct stat *link, const char *real);
	void *seen_ctx;
} ag_vars_t;

/* A compiled ruleset is one flat, position-independent block of memory: it
 * can be written to a file and mapped by a child, read-only. */
typedef struct ag_ruleset ag_ruleset_t;

/* Parses and compiles. On success returns 0 and a malloc'd blob; on error -1
 * with err filled (source, line, column, text). */
int ag_policy_compile(const char *text, size_t len, const char *source, const ag_vars_t *vars,
		      void **blob, size_t *blob_len, ag_error_t *err);
int ag_policy_compile_file(const char *path, const ag_vars_t *vars, void **blob, size_t *blob_len,
			   ag_error_t *err);
/* The policy built into the library (rules/default.json). */
extern const char ag_default_policy[];
extern const size_t ag_default_policy_len;

/* Checks a blob (from a file or memory) and returns a view on it, or NULL
 * with err filled. The blob must outlive the view. */
const ag_ruleset_t *ag_ruleset_view(const void *blob, size_t len, ag_error_t *err);
/* The same without the checksum, for a ruleset the launcher checked when it
 * stored it (ag_session_store): every table and bound is still checked, so
 * a damaged file is refused, not read out of bounds. The checksum guards
 * against damage, never against a forger, who can recompute it. */
const ag_ruleset_t *ag_ruleset_view_stored(const void *blob, size_t len, ag_error_t *err);
size_t ag_ruleset_nrules(const ag_ruleset_t *rs);
const char *ag_ruleset_rule_id(const ag_ruleset_t *rs, int rule); /* "default" for -1 */
/* A rule's operations (AG_OPBIT mask), action and chosen errno (0: EACCES). */
void ag_ruleset_rule(const ag_ruleset_t *rs, int rule, uint32_t *ops, ag_action_t *action,
		     int *err);
ag_action_t ag_ruleset_default(const ag_ruleset_t *rs);
/* Ops that some rule or the default could refuse or audit; an op outside
 * this mask is always allowed, so hooks can skip all work for it. */
uint32_t ag_ruleset_guarded_ops(const ag_ruleset_t *rs);
/* "WORKSPACE", "HOME", "TMPDIR", "LOG", "MODE", "SOURCE" (the policy file,
 * or "<embedded default>") */
const char *ag_ruleset_var(const ag_ruleset_t *rs, const char *name);
uint64_t ag_ruleset_hash(const ag_ruleset_t *rs);
/* Seconds the guard waits for an answer to an "ask" rule's question: the
 * policy's "ask_timeout", else AG_ASK_TIMEOUT_DEFAULT. */
#define AG_ASK_TIMEOUT_DEFAULT 30
unsigned ag_ruleset_ask_timeout(const ag_ruleset_t *rs);

/* ---- sessions ---------------------------------------------------------------
 * What a launch fixes once: the workspace, the policy, the log and the mode.
 * The launcher and the preload (when started without the launcher) fill it
 * the same way, from the environment and the current directory. */
typedef struct {
	char workspace[PATH_MAX];
	char home[PATH_MAX];
	char tmpdir[PATH_MAX];
	char policy[PATH_MAX]; /* "" for the embedded default */
	char log[PATH_MAX];
	char statedir[PATH_MAX]; /* holds compiled rulesets (and the default log) */
	bool audit;
} ag_session_t;

#define AG_EMBEDDED_SOURCE "<embedded default>"

/* Fills s from AGENTGUARD_*, HOME, TMPDIR, XDG_STATE_HOME and the current
 * directory (workspace: AGENTGUARD_WORKSPACE, else the git top level, else
 * the current directory). Returns 0, or -1 with err for a bad setting. */
int ag_session_from_env(ag_session_t *s, ag_error_t *err);
/* Finds the git top level above dir (a directory holding .git); falls back
 * to dir. Resolves symlinks. */
int ag_workspace_detect(const char *dir, char *out, size_t outsz);
int ag_session_compile(const ag_session_t *s, void **blob, size_t *len, ag_error_t *err);
/* ag_session_compile for the launcher: the ruleset a launch with the same
 * policy text and variables stored is read instead of compiled, where
 * none of the paths the compile looked at has changed (an index in
 * s->statedir, written by the compile). The same result either way. */
int ag_session_compile_cached(const ag_session_t *s, void **blob, size_t *len, ag_error_t *err);
/* Writes a compiled ruleset into s->statedir, named by its hash, unless it
 * is there already; returns 0 and its path. */
int ag_session_store(const ag_session_t *s, const void *blob, size_t len, char *path,
		     size_t pathsz);
/* The session's table of created inodes: a file of AG_CREATED_SLOTS 64-bit
 * slots in s->statedir, shared by every guarded process of the session.
 * Creates a new one and returns its path; removes those left by sessions
 * more than two days old (looked for at most once an hour). */
#define AG_CREATED_SLOTS 65536u
int ag_session_created_map(const ag_session_t *s, char *path, size_t pathsz);
/* Maps a stored ruleset read-only. NULL with err when missing or bad. */
const ag_ruleset_t *ag_ruleset_map(const char *path, ag_error_t *err);
/* What every guarded process maps at start: ag_ruleset_view_stored's checks. */
const ag_ruleset_t *ag_ruleset_map_stored(const char *path, ag_error_t *err);

/* ---- the decision -------------------------------------------------------- */
typedef struct {
	ag_op_t op;
	const char *path; /* resolved, absolute */
	ag_op_t op2;      /* for rename/link: how path2 is touched (create or rename) */
	const char *path2; /* NULL when the call has one path */
	unsigned flags;    /* AG_REQ_*: what the caller knows of the paths */
	const char *const *argv; /* exec: the command line, for rules with "argv" */
	/* connect to an IP address: judged by the rules with addrs, ports or
	 * hosts (a unix socket is judged by its path, as any file). */
	const struct ag_netaddr *net;
	const char *host; /* the name the program looked up for it, or NULL */
	/* For AG_REQ_DIR1/AG_REQ_TREE1: only protected prefixes that exist count.
	 * The caller says what exists (lstat); NULL counts them all. */
	bool (*exists)(const char *path);
} ag_request_t;

/* The path is a directory: renaming it moves everything beneath, so the
 * rename is refused when moving any rule's protected prefix beneath it would
 * be (the guard's log inside a renamed folder, ~/.config holding autostart). */
#define AG_REQ_DIR1 1u
#define AG_REQ_DIR2 2u
/* A delete of path and everything beneath it (rm -r seen on a command line):
 * refused when deleting any rule's protected prefix beneath would be. */
#define AG_REQ_TREE1 4u

typedef struct {
	ag_action_t action;
	int rule;  /* index of the deciding rule, -1 for the default */
	int err;   /* errno for a refusal */
	int which; /* 1 or 2: which path decided */
} ag_verdict_t;

/* Pure: no globals, no I/O, no errno, no locks. First matching rule wins
 * per path; for two-path requests the stricter verdict wins. A link's source
 * is judged both as linked and as written. */
ag_verdict_t ag_decide(const ag_ruleset_t *rs, const ag_request_t *req);
/* Decisions in one directory, remembered. The paths a program names in a
 * row mostly share their directory (rm -r, tar x, a build), and what the
 * prefixes up to that directory decide is the same for every name in it
 * unless a pattern there could tell two names apart. A memo, owned by the
 * caller (one per thread: it is written without a lock), keeps that per
 * operation; ag_decide_memo answers a path in the remembered directory by
 * hashing its last component alone, and everything else with ag_decide.
 * The answers are ag_decide's. */
#define AG_MEMO_DIR 512
typedef struct {
	const ag_ruleset_t *rs; /* NULL: empty */
	uint64_t sum;           /* rs's checksum: another ruleset may reuse its address */
	uint64_t hash;          /* of dir, as the decision hashes prefixes */
	uint32_t rule[AG_OP__COUNT]; /* what the prefixes decide for each op */
	uint32_t depends;       /* AG_OPBIT of the ops a name may change */
	uint32_t len;
	char dir[AG_MEMO_DIR];
} ag_memo_t;
ag_verdict_t ag_decide_memo(const ag_ruleset_t *rs, const ag_request_t *req, ag_memo_t *memo);
/* What to do with a program the preload cannot follow (static, Go, setuid)
 * when rule decided its exec: the rule's "unguardable", else the policy's,
 * else deny. */
ag_action_t ag_ruleset_unguardable(const ag_ruleset_t *rs, int rule);
/* Whether that answer was written in the policy (the rule's or the top
 * level's) rather than the built-in deny: with the kernel floor on, an
 * unsaid answer becomes "run under the floor". */
bool ag_ruleset_unguardable_said(const ag_ruleset_t *rs, int rule);

/* ---- paths ----------------------------------------------------------------- */
typedef struct {
	bool exists;
	bool is_dir;
	bool is_link; /* the last component is a symlink that was not followed */
	nlink_t nlink;
	dev_t dev;
	ino_t ino;
	/* The rest of the last component's stat where the resolution made
	 * one (mode 0 where it did not): the exec hook inspects the program
	 * by them instead of asking the kernel again. */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	off_t size;
	int64_t mtime_sec;
	long mtime_nsec;
} ag_pathinfo_t;

struct stat;
/* info, filled from a stat of the path's last component. */
void ag_pathinfo_fill(ag_pathinfo_t *info, const struct stat *st);

#define AG_RESOLVE_FOLLOW 1 /* follow a symlink in the last component */
/* Without AG_RESOLVE_FOLLOW: leave the last component unexamined (one
 * fstatat fewer); info then says only that it was not looked at (exists
 * false), and the caller stats the answer itself if it needs to know. */
#define AG_RESOLVE_NOSTAT 2

/* Resolves path against dirfd the way the kernel will: symlinks in every
 * directory component, '..' after them, and the last component when
 * AG_RESOLVE_FOLLOW is given. The last component need not exist. Returns 0,
 * or -1 with errno (ENAMETOOLONG when out would not hold it; ENOENT etc. when
 * a directory on the way is missing). Does not allocate. */
int ag_resolve(int dirfd, const char *path, int flags, char *out, size_t outsz, ag_pathinfo_t *info);
/* The path the kernel has for an open descriptor (/proc/self/fd). Returns
 * the length, 0 when the descriptor is not a filesystem object (pipe,
 * socket), or -1 with errno. */
ssize_t ag_fd_path(int fd, char *out, size_t outsz);
/* Lexical clean-up of an absolute path: collapses //, /./ and trailing /.
 * '..' is not touched. In place; returns the new length. */
size_t ag_path_squash(char *p);
/* ag_path_squash, and ".." taken lexically ("/a/b/../c" is "/a/c", "/.." is
 * "/"). Only right for a path with no symlinks, which the caller must make
 * sure of (openat2 with RESOLVE_NO_SYMLINKS). In place; returns the length. */
size_t ag_path_lexical(char *p);
/* Whole-component prefix test: "/a/b" is within "/a", "/a/bc" is not. */
bool ag_path_within(const char *path, const char *dir);

/* ---- programs -----------------------------------------------------------------
 * What the guard must know before an exec: can the preload follow this
 * program at all? Read with pread into fixed buffers: no allocation, so it is
 * safe in a vfork child. */
typedef struct {
	bool is_elf;
	bool is_static; /* ELF with no PT_INTERP: the loader, and so the preload, never runs */
	bool is_go;     /* Go build-id note or .go.buildinfo: Go makes raw system calls */
	bool setid;     /* setuid or setgid bit: the loader drops LD_PRELOAD */
	bool is_script; /* starts with "#!" */
	char interp[PATH_MAX]; /* the #! interpreter as written (first word), "" if none */
} ag_proginfo_t;

/* Inspects an open regular file. Returns 0, or -1 with errno when it cannot
 * be read. Anything that is neither ELF nor "#!" gets all fields false. */
int ag_inspect_fd(int fd, ag_proginfo_t *info);

/* The trees a command line would delete recursively: rm with -r, -R or
 * --recursive (bundled short flags, "--"), find with -delete or -exec/-execdir
 * rm (its start paths, "." when none), git clean with -f/--force (its work
 * tree: "." or the -C directory; none with -n/--dry-run). The program is
 * recognised by the base name of argv[0], also behind "busybox" or "env".
 * Fills targets with pointers into argv (or to the static string "."), at
 * most max of them; returns how many, 0 when the command is no recursive
 * delete, or -1 when there were more than max or the targets cannot be told
 * from argv alone (env -C, git -C relative to another -C, env -S strings).
 * Pure: no I/O, no allocation. */
int ag_recursive_targets(const char *const *argv, const char **targets, int max);

/* ---- network ------------------------------------------------------------------
 * Addresses collapse to one form before matching: an IPv4-mapped or
 * IPv4-compatible IPv6 address is the IPv4 address, so no spelling slips
 * past a rule. */
typedef struct ag_netaddr {
	uint8_t family;   /* 4 or 6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
	int port;         /* -1 when none */
} ag_netaddr_t;

typedef struct {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix; /* bits: 0..32 or 0..128 */
	uint8_t addr[16];
} ag_cidr_t;

/* "10.0.0.0/8", "169.254.169.254", "fd00:ec2::254", "::ffff:1.2.3.4/120"
 * (a mapped range becomes the IPv4 range). Host bits under the prefix must
 * be zero. Returns 0, or -1 for anything else. */
int ag_cidr_parse(const char *text, ag_cidr_t *out);
bool ag_cidr_match(const ag_cidr_t *c, const ag_netaddr_t *a);
/* "443" or "8000-8100" (1..65535, lo <= hi). Returns 0 or -1. */
int ag_port_range_parse(const char *text, uint16_t *lo, uint16_t *hi);
/* Exact name, or "*.example.com" for any name below example.com (not
 * example.com itself). Case-insensitive; a trailing dot on either side is
 * ignored. */
bool ag_host_match(const char *pattern, const char *host);
/* Which kind of destination a sockaddr is: AF_INET/AF_INET6 fill out (with
 * the collapse above; AF_INET6 mapped addresses come back as family 4),
 * AF_UNIX fills path with the socket path ("@name" for the abstract
 * namespace, "" for unnamed). Returns the AF_ constant, or -1 for other
 * families and malformed lengths. Pure. */
int ag_sockaddr_parse(const void *sa, size_t len, ag_netaddr_t *out, char *path, size_t pathsz);
/* "169.254.169.254" or "fd00:ec2::254" (RFC 5952 form). */
size_t ag_netaddr_format(const ag_netaddr_t *a, char *buf, size_t sz);

/* ---- the log ---------------------------------------------------------------- */
typedef struct {
	int64_t ts_ms; /* wall clock, ms since the epoch */
	pid_t pid, ppid;
	const char *exe;
	ag_op_t op;
	const char *path, *path2;
	const char *const *argv; /* exec; NULL otherwise */
	const char *addr;        /* connect */
	int port;                /* connect; -1 when none */
	const char *rule;
	ag_action_t action;
	int err;          /* errno returned (or that would have been, in audit) */
	bool audit_mode;  /* mode: audit instead of enforce */
	unsigned repeat;  /* >1 when this line stands for coalesced refusals */
	const char *note; /* why, when the rule alone does not say it; NULL otherwise */
	const char *host; /* connect: the name the program looked up, or NULL */
	/* An "ask" rule's outcome: "yes", "always", "no", "timeout", "no-tty",
	 * or NULL when nobody was asked. */
	const char *answer;
} ag_logrec_t;

/* One JSON object and '\n' into buf. Returns the length; never more than
 * bufsz - 1 (long strings are cut and marked). */
size_t ag_log_format(char *buf, size_t bufsz, const ag_logrec_t *rec);
/* The short line for the agent's stderr. */
size_t ag_log_format_human(char *buf, size_t bufsz, const ag_logrec_t *rec);

#endif
