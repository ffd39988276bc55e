/* Asking a person. A rule with "action": "ask" lets an operation through
 * only when someone at the controlling terminal agrees. The answer table is
 * a file of 64-bit slot pairs beside the session's created-files map, mapped
 * shared by every guarded process of the session, so "always" holds for the
 * whole session; inserted and probed with atomics only. This runs inside
 * hooks, also in a vfork child before its exec: only system calls, the stack
 * and the mapped table. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ask.h"
#include "blob.h"
#include "guard.h"

#define SHARED_SLOTS 8192u
#define LOCAL_SLOTS 256u
#define PROBES 32u

struct answer_slot {
	_Atomic uint64_t key;
	_Atomic uint64_t val; /* AG_ANS_YES or AG_ANS_NO once written */
};

static struct answer_slot local_tab[LOCAL_SLOTS];
static struct answer_slot *tab = local_tab;
static uint32_t tab_mask = LOCAL_SLOTS - 1;
static int timeout_ms = AG_ASK_TIMEOUT_DEFAULT * 1000;

void ag__ask_init(const char *created_map, unsigned timeout_s)
{
	char path[PATH_MAX];

	timeout_ms = (int)(timeout_s ? timeout_s : AG_ASK_TIMEOUT_DEFAULT) * 1000;
	if (!created_map || created_map[0] != '/' ||
	    (size_t)snprintf(path, sizeof(path), "%s.answers", created_map) >= sizeof(path))
		return;
	void *m = ag__map_table(path, SHARED_SLOTS * sizeof(struct answer_slot), true);
	if (m) {
		tab = m;
		tab_mask = SHARED_SLOTS - 1;
	}
}

static uint64_t scope_key(ag_op_t op, const char *s, size_t n, pid_t pid)
{
	uint64_t h = ag__hash_bytes(AG_HASH_SEED ^ ((uint64_t)op << 40 | (uint32_t)pid), s, n);
	return h | 1;
}

static void remember(uint64_t key, uint64_t val)
{
	for (uint32_t i = 0; i < PROBES; i++) {
		struct answer_slot *s = &tab[(key + i) & tab_mask];
		uint64_t cur = 0;
		if (atomic_compare_exchange_strong(&s->key, &cur, key) || cur == key) {
			atomic_store(&s->val, val);
			return;
		}
	}
}

static uint64_t lookup(uint64_t key)
{
	for (uint32_t i = 0; i < PROBES; i++) {
		struct answer_slot *s = &tab[(key + i) & tab_mask];
		uint64_t cur = atomic_load(&s->key);
		if (cur == key)
			return atomic_load(&s->val);
		if (cur == 0)
			return 0;
	}
	return 0;
}

/* A yes for this length of the scope: the session's, this process's (the
 * program an exec hook asked for keeps the pid) or its parent's (a
 * posix_spawn is asked about in the parent). */
static bool granted(ag_op_t op, const char *scope, size_t n, pid_t self, pid_t parent)
{
	return lookup(scope_key(op, scope, n, 0)) == AG_ANS_YES ||
	       lookup(scope_key(op, scope, n, self)) == AG_ANS_YES ||
	       lookup(scope_key(op, scope, n, parent)) == AG_ANS_YES;
}

int ag__ask_recall(ag_op_t op, const char *scope, bool prefixes)
{
	size_t len = strlen(scope);
	pid_t self = getpid(), parent = getppid();

	for (size_t i = prefixes ? 1 : len; i <= len; i++) {
		if (i != len && scope[i] != '/')
			continue;
		if (granted(op, scope, i, self, parent))
			return AG_ANS_YES;
	}
	if (lookup(scope_key(op, scope, len, self)) == AG_ANS_NO)
		return AG_ANS_NO;
	return AG_ANS_NONE;
}

/* ---- the question -------------------------------------------------------- */
static size_t put(char *buf, size_t o, size_t sz, const char *s)
{
	size_t n = strlen(s);
	if (o + n >= sz)
		n = o < sz ? sz - 1 - o : 0;
	memcpy(buf + o, s, n);
	buf[o + n] = '\0';
	return o + n;
}

static int now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* A line from the terminal, in canonical mode ("\n") or raw ("\r").
 * Returns its length, or -1 when the time ran out first. */
static int read_line(int fd, char *buf, size_t sz)
{
	size_t n = 0;
	int deadline = now_ms() + timeout_ms;

	for (;;) {
		int left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0)
			return -1;
		int r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -1 : (int)n;
		char c;
		ssize_t got = read(fd, &c, 1);
		if (got <= 0 && !(got < 0 && errno == EINTR))
			return (int)n;
		if (got == 1 && (c == '\n' || c == '\r'))
			return (int)n;
		if (got == 1 && n + 1 < sz)
			buf[n++] = c;
	}
}

static int parse_answer(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if ((n == 1 && (*s == 'y' || *s == 'Y')) || (n == 3 && !strncasecmp(s, "yes", 3)))
		return AG_ANS_YES;
	if ((n == 1 && (*s == 'a' || *s == 'A')) || (n == 6 && !strncasecmp(s, "always", 6)))
		return AG_ANS_ALWAYS;
	return AG_ANS_NO;
}

int ag__ask(ag_op_t op, const char *scope, const char *prog, const char *what)
{
	char q[PATH_MAX + 512], line[64];
	int saved = errno;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		errno = saved;
		return AG_ANS_NOTTY; /* nobody to ask: no */
	}
	size_t o = put(q, 0, sizeof(q), "agentguard: allow ");
	o = put(q, o, sizeof(q), prog);
	o = put(q, o, sizeof(q), " to ");
	o = put(q, o, sizeof(q), what);
	o = put(q, o, sizeof(q), "? [y/N/always] ");
	(void)!write(fd, q, o);
	int n = read_line(fd, line, sizeof(line));
	int a = n < 0 ? AG_ANS_TIMEOUT : parse_answer(line, (size_t)n);
	if (a == AG_ANS_TIMEOUT)
		(void)!write(fd, "\nagentguard: no answer; refused\n", 32);
	close(fd);
	size_t len = strlen(scope);
	if (a == AG_ANS_ALWAYS)
		remember(scope_key(op, scope, len, 0), AG_ANS_YES);
	else
		remember(scope_key(op, scope, len, getpid()), a == AG_ANS_YES ? AG_ANS_YES : AG_ANS_NO);
	errno = saved;
	return a;
}

bool ag__ask_allowed(int answer)
{
	return answer == AG_ANS_YES || answer == AG_ANS_ALWAYS;
}

const char *ag__ask_name(int answer)
{
	static const char *const names[] = {"none", "yes", "always", "no", "timeout", "no-tty"};
	return answer >= 0 && answer <= AG_ANS_NOTTY ? names[answer] : "no";
}

/* ---- what a recursive delete would take ---------------------------------- */
static long count_dir(int dfd, long limit, int depth)
{
	char buf[1024];
	long n = 0;

	for (;;) {
		ssize_t got = getdents64(dfd, buf, sizeof(buf));
		if (got <= 0)
			return n;
		for (ssize_t off = 0; off < got && n < limit;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			off += e->d_reclen;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			n++;
			if (e->d_type != DT_DIR || depth >= 24)
				continue;
			int sub = openat(dfd, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				n += count_dir(sub, limit - n, depth + 1);
				close(sub);
			}
		}
		if (n >= limit)
			return n;
	}
}

long ag__count_tree(const char *path, long limit)
{
	int saved = errno;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	long n = fd < 0 ? (errno == ENOTDIR || errno == ELOOP ? 1 : -1) : count_dir(fd, limit, 0);

	if (fd >= 0)
		close(fd);
	errno = saved;
	return n;
}

void ag__thousands(char *buf, size_t sz, long n)
{
	char rev[32];
	size_t k = 0, o = 0;

	do {
		if (k % 4 == 3)
			rev[k++] = ',';
		rev[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0 && k + 2 < sizeof(rev));
	while (k && o + 1 < sz)
		buf[o++] = rev[--k];
	buf[o] = '\0';
}
