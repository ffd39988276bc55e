/* Children keep the guard. Every exec from a guarded process gets
 * LD_PRELOAD with the library first and the AGENTGUARD_* settings as they
 * were fixed at launch, whatever the program did to its environment:
 * cleared it, emptied LD_PRELOAD or pointed AGENTGUARD_MODE elsewhere. The
 * values are captured once, here, and never read from the environment
 * again. Building a child's environment allocates nothing: exec hooks run
 * in vfork children. */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "guard.h"
#include "str.h"

#define MAX_FROZEN 16
#define FROZEN_LEN (PATH_MAX + 32)

/* "AGENTGUARD_X=value" strings, packed one after the other: a process
 * touches one page for them, not one per setting. */
static char arena[4 * FROZEN_LEN];
static size_t arena_used AG_HOT;
static char *frozen[MAX_FROZEN] AG_HOT;
static size_t nfrozen AG_HOT;

/* The first kilobyte, which a launch's settings fit in, sits with the
 * other start-up variables; the rest is there for long paths. */
static char arena_hot[1024] AG_HOT;
static size_t hot_used AG_HOT;

AG_HOT_TEXT static char *keep_entry(const char *name, size_t n, const char *value)
{
	size_t v = ag_strlen(value), len = n + 1 + v + 1;
	char *e;
	if (len > FROZEN_LEN)
		return NULL;
	if (hot_used + len <= sizeof(arena_hot)) {
		e = arena_hot + hot_used;
		hot_used += len;
	} else if (arena_used + len <= sizeof(arena)) {
		e = arena + arena_used;
		arena_used += len;
	} else {
		return NULL;
	}
	ag_copy(e, name, n);
	e[n] = '=';
	ag_copy(e + n + 1, value, v + 1);
	return e;
}

/* The library as the loader named it (stable for the life of the
 * process: a preloaded object is never unloaded) and the shim directory,
 * frozen. Pointers, not copies: a start touches no page for them. */
static const char *library AG_HOT = "";
static const char *shims AG_HOT = "";

/* The shim directory beside the library, resolved. The first process of a
 * session resolves it (a readlink per component) and hands it down in
 * AGENTGUARD_SHIMS. A wrong value costs nothing but speed: it only decides
 * which PATH entry a guarded exec skips, and a shim reached anyway puts
 * the guard back and runs the real program. */
/* Without AGENTGUARD_SHIMS (no launcher): beside the library, resolved.
 * Out of line, so that its buffers are not on the stack of every start. */
__attribute__((noinline)) static void find_shims_beside(void)
{
	static const char tail[] = "/agentguard/shims";
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(library, '/');
	size_t n = slash ? (size_t)(slash - library) : 0;

	if (!n || n + sizeof(tail) > sizeof(dir))
		return;
	memcpy(dir, library, n);
	memcpy(dir + n, tail, sizeof(tail));
	if (realpath(dir, real)) {
		ag__freeze_set("AGENTGUARD_SHIMS", real);
		const char *kept = ag__frozen("AGENTGUARD_SHIMS");
		shims = kept ? kept : "";
	}
}

AG_HOT_TEXT static void find_shims(void)
{
	const char *given = ag__frozen("AGENTGUARD_SHIMS");
	if (given && given[0] == '/')
		shims = given;
	else
		find_shims_beside();
}

AG_HOT_TEXT void ag__freeze_env(void)
{
	extern char **environ;
	Dl_info info;

	nfrozen = 0;
	arena_used = hot_used = 0;
	for (char **e = environ; e && *e && nfrozen < MAX_FROZEN; e++) {
		if (!ag_starts(*e, "AGENTGUARD_"))
			continue;
		size_t n = ag_strcspn(*e, "=");
		char *k;
		if ((*e)[n] == '=' && (k = keep_entry(*e, n, *e + n + 1)))
			frozen[nfrozen++] = k;
	}
	/* Known from the constructor's walk over the loaded objects; dladdr
	 * would take the loader's lock and walk them again. */
	const char *self = ag__self_path();
	if (self[0] == '/')
		library = self;
	else if (dladdr((void *)ag__freeze_env, &info) && info.dli_fname && info.dli_fname[0] == '/')
		library = info.dli_fname;
	find_shims();
}

/* Sets one frozen value, as the launch fixed it. Not through setenv: a
 * program may define its own (bash does), which is not ready before its main. */
void ag__freeze_set(const char *name, const char *value)
{
	size_t n = strlen(name), i;
	for (i = 0; i < nfrozen; i++)
		if (strncmp(frozen[i], name, n) == 0 && frozen[i][n] == '=')
			break;
	char *k;
	if (i == MAX_FROZEN || !(k = keep_entry(name, n, value)))
		return;
	frozen[i] = k;
	if (i == nfrozen)
		nfrozen++;
}

static bool is_frozen(const char *entry, size_t namelen)
{
	for (size_t i = 0; i < nfrozen; i++)
		if (strncmp(frozen[i], entry, namelen + 1) == 0)
			return true;
	return false;
}

AG_HOT_TEXT const char *ag__frozen(const char *name)
{
	size_t n = ag_strlen(name);
	for (size_t i = 0; i < nfrozen; i++)
		if (ag_memeq(frozen[i], name, n) && frozen[i][n] == '=')
			return frozen[i] + n + 1;
	return NULL;
}

/* The launcher's word (AGENTGUARD_FLOOR, frozen like the rest), checked
 * against the kernel's: a program cannot talk its children out of the
 * floor, but a stale variable must not talk them into believing in one.
 * Landlock cannot be asked; no_new_privs and a seccomp filter, which the
 * launcher installs with it, can. Asked only for unguardable programs and
 * failed calls. 1 with Landlock, 2 with the seccomp filter alone, 0 for no
 * floor. */
static int floor_kind(void)
{
	static const char key[] = "AGENTGUARD_FLOOR=";
	for (size_t i = 0; i < nfrozen; i++) {
		if (!ag_starts(frozen[i], key))
			continue;
		const char *v = frozen[i] + sizeof(key) - 1;
		if (!strstr(v, "seccomp=1") || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
		    prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
			return 0;
		return ag_starts(v, "landlock=0") ? 2 : 1;
	}
	return 0;
}

bool ag__floor_active(void)
{
	return floor_kind() == 1;
}

bool ag__floor_seccomp(void)
{
	return floor_kind() != 0;
}

AG_HOT_TEXT const char *ag__shim_dir(void)
{
	return shims;
}

#ifdef AG_ASAN_RUNTIME
/* A sanitized library needs the ASan runtime loaded before it. */
static const char preload_first[] = AG_ASAN_RUNTIME ":";
#else
static const char preload_first[] = "";
#endif

/* The program's own LD_PRELOAD entries, less ours, go after the library. */
AG_HOT_TEXT static int preload_value(const char *old, char *buf, size_t bufsz)
{
	static const char var[] = "LD_PRELOAD=";
	const char *first = preload_first;
	size_t nf = sizeof(preload_first) - 1, nl = ag_strlen(library);
	size_t n = sizeof(var) - 1 + nf + nl;

	if (n + 1 > bufsz)
		return -1;
	ag_copy(buf, var, sizeof(var) - 1);
	ag_copy(buf + sizeof(var) - 1, first, nf);
	ag_copy(buf + sizeof(var) - 1 + nf, library, nl);
	buf[n] = '\0';
	for (const char *p = old; p && *p;) {
		size_t len = ag_strcspn(p, ": ");
		bool ours = (len == nl && ag_memeq(p, library, len)) ||
			    (nf && len == nf - 1 && ag_memeq(p, first, len));
		if (len && !ours) {
			if (n + 1 + len + 1 > bufsz)
				return -1;
			buf[n++] = ':';
			ag_copy(buf + n, p, len);
			n += len;
			buf[n] = '\0';
		}
		p += len;
		while (*p == ':' || *p == ' ')
			p++;
	}
	return 0;
}

/* LD_PRELOAD's value is already what preload_value would make of it: the
 * library first (after the ASan runtime) and nothing else. The usual case,
 * which then costs no copy. */
AG_HOT_TEXT static bool preload_as_made(const char *old)
{
	size_t nf = sizeof(preload_first) - 1, nl = ag_strlen(library);
	return ag_memeq(old, preload_first, nf) && ag_memeq(old + nf, library, nl) &&
	       old[nf + nl] == '\0';
}

AG_HOT_TEXT int ag__child_env(char *const *envp, char **out, size_t cap, char *buf, size_t bufsz)
{
	char *old = NULL;
	size_t n = 0;

	if (!library[0]) {
		errno = ENOENT;
		return -1;
	}
	for (char *const *e = envp; e && *e; e++) {
		if (ag_starts(*e, "LD_PRELOAD=")) {
			old = *e;
			continue;
		}
		if (ag_starts(*e, "AGENTGUARD_"))
			continue;
		if (n + nfrozen + 2 >= cap) {
			errno = E2BIG;
			return -1;
		}
		out[n++] = *e;
	}
	for (size_t i = 0; i < nfrozen; i++) {
		out[n++] = frozen[i];
		__asm__("" ::: "memory"); /* a loop, not a memcpy call */
	}
	const char *value = old ? old + sizeof("LD_PRELOAD=") - 1 : NULL;
	if (value && preload_as_made(value)) {
		out[n++] = old;
	} else if (preload_value(value, buf, bufsz) == 0) {
		out[n++] = buf;
	} else {
		errno = E2BIG;
		return -1;
	}
	out[n] = NULL;
	return 0;
}

void ag__restore_environ(void)
{
	char buf[2 * PATH_MAX];
	extern char **environ;

	for (size_t i = 0; i < nfrozen; i++) {
		char *eq = strchr(frozen[i], '=');
		const char *cur;
		*eq = '\0';
		cur = getenv(frozen[i]);
		if (!cur || strcmp(cur, eq + 1) != 0)
			setenv(frozen[i], eq + 1, 1);
		*eq = '=';
	}
	/* Settings the program added itself go: names first, then unset, since
	 * unsetenv reshapes environ under the loop. */
	char names[MAX_FROZEN][64];
	size_t nn = 0;
	for (char **e = environ; e && *e && nn < MAX_FROZEN; e++) {
		size_t len = strcspn(*e, "=");
		if (!ag_starts(*e, "AGENTGUARD_") || len >= sizeof(names[0]) || is_frozen(*e, len))
			continue;
		memcpy(names[nn], *e, len);
		names[nn++][len] = '\0';
	}
	for (size_t i = 0; i < nn; i++)
		unsetenv(names[i]);
	if (preload_value(getenv("LD_PRELOAD"), buf, sizeof(buf)) == 0) {
		const char *want = buf + strlen("LD_PRELOAD=");
		const char *cur = getenv("LD_PRELOAD");
		if (!cur || strcmp(cur, want) != 0)
			setenv("LD_PRELOAD", want, 1);
	}
}
