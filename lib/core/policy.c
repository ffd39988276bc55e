/* Policy JSON to compiled ruleset. Parsing is strict: duplicate keys,
 * unknown fields, unknown operations and unknown variables are errors with
 * the file, line and column of the offending element. Fields are checked by
 * hand rather than with json_unpack's JSON_STRICT so that every message can
 * point at the element and say what would have been valid there. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agentguard.h"
#include "blob.h"
#include "compile.h"

#define MAX_PATH_ELEMS 4
#define PAT_MAX (2 * PATH_MAX)

struct compiler {
	const char *text;
	size_t len;
	const ag_vars_t *vars;
	ag_error_t *err;
	struct crule *rules;
	size_t nrules, caprules;
	struct cpat *pats;
	size_t npats, cappats;
	ag_action_t def, unguardable;
	bool unguardable_said; /* the top level names it */
	unsigned ask_timeout;  /* seconds; 0: the default */
	unsigned floor_flags;  /* AG_FLOOR_* */
	struct canon *canon;   /* canonical forms met so far, open addressing */
	size_t ncanon, capcanon;
};

struct canon {
	char *path, *real;
};

/* "rules[3].ops[1]": the element path as a reader of the file names it. */
static void where(char *out, size_t sz, const char *const *elems, size_t depth)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < depth && elems[i] && o < sz; i++)
		o += (size_t)snprintf(out + o, sz - o, "%s%s",
				      i && elems[i][0] != '[' ? "." : "", elems[i]);
}

/* An error at a JSON element: elems name it as for ag_json_locate. */
static int at(struct compiler *c, const char *const *elems, size_t depth, bool key,
	      const char *fmt, ...)
{
	va_list ap;
	int line = 0, col = 0;

	if (ag_json_locate(c->text, c->len, elems, depth, key, &line, &col) == 0) {
		c->err->line = line;
		c->err->column = col;
	}
	where(c->err->where, sizeof(c->err->where), elems, depth);
	va_start(ap, fmt);
	vsnprintf(c->err->text, sizeof(c->err->text), fmt, ap);
	va_end(ap);
	return -1;
}

static int check_fields(struct compiler *c, json_t *obj, const char *const *elems, size_t depth,
			const char *const *known, const char *what)
{
	const char *key;
	json_t *v;
	const char *sub[MAX_PATH_ELEMS + 1];

	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (const char *const *k = known; *k; k++)
			ok = ok || strcmp(key, *k) == 0;
		if (ok)
			continue;
		for (size_t i = 0; i < depth; i++)
			sub[i] = elems[i];
		sub[depth] = key;
		char list[200] = "";
		for (const char *const *k = known; *k; k++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 k == known ? "" : ", ", *k);
		return at(c, sub, depth + 1, true, "unknown field \"%.64s\" in %s; known fields: %s",
			  key, what, list);
	}
	return 0;
}

static int want_string(struct compiler *c, json_t *v, const char *const *elems, size_t depth,
		       const char *what)
{
	if (!json_is_string(v))
		return at(c, elems, depth, false, "%s must be a string", what);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return at(c, elems, depth, false, "%s must not contain NUL bytes", what);
	return 0;
}

static int parse_action(struct compiler *c, json_t *v, const char *const *elems, size_t depth,
			ag_action_t *out)
{
	if (want_string(c, v, elems, depth, "an action") != 0)
		return -1;
	int a = ag_action_from_string(json_string_value(v));
	if (a < 0)
		return at(c, elems, depth, false,
			  "unknown action \"%.64s\"; expected \"allow\", \"deny\" or \"audit\" (or "
			  "\"ask\" in a rule)",
			  json_string_value(v));
	*out = (ag_action_t)a;
	return 0;
}

static const char *var_value(const struct compiler *c, const char *name, size_t n)
{
	if (n == 9 && memcmp(name, "WORKSPACE", 9) == 0)
		return c->vars->workspace;
	if (n == 4 && memcmp(name, "HOME", 4) == 0)
		return c->vars->home;
	if (n == 6 && memcmp(name, "TMPDIR", 6) == 0)
		return c->vars->tmpdir;
	return NULL;
}

/* ${VAR} substitution; values are escaped so that a workspace named
 * "a[1]" matches only itself. */
static int expand(struct compiler *c, const char *in, char *out, const char *const *elems,
		  size_t depth)
{
	size_t o = 0;

	for (const char *p = in; *p;) {
		if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			if (!end)
				return at(c, elems, depth, false, "unterminated ${ in \"%.80s\"", in);
			const char *val = var_value(c, p + 2, (size_t)(end - p - 2));
			if (!val)
				return at(c, elems, depth, false,
					  "unknown variable ${%.*s}; Hint: use ${WORKSPACE}, "
					  "${HOME} or ${TMPDIR}",
					  (int)(end - p - 2 > 64 ? 64 : end - p - 2), p + 2);
			size_t n = ag_glob_escape(out + o, PAT_MAX - o, val);
			if (n == (size_t)-1)
				return at(c, elems, depth, false, "pattern too long");
			o += n;
			p = end + 1;
			continue;
		}
		if (o + 2 >= PAT_MAX)
			return at(c, elems, depth, false, "pattern too long");
		out[o++] = *p++;
	}
	out[o] = '\0';
	return 0;
}

static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static int add_pat(struct compiler *c, char *prefix, const char *rest, uint32_t rule)
{
	if (c->npats == c->cappats) {
		size_t cap = c->cappats ? c->cappats * 2 : 64;
		struct cpat *n = realloc(c->pats, cap * sizeof(*n));
		if (!n)
			return -1;
		c->pats = n;
		c->cappats = cap;
	}
	char *r = strdup(rest);
	if (!prefix || !r) {
		free(prefix);
		free(r);
		return -1;
	}
	c->pats[c->npats++] = (struct cpat){.prefix = prefix, .rest = r, .rule = rule};
	return 0;
}

/* The kernel reports resolved paths, so a literal prefix written through a
 * symlink (/var/run, a symlinked dotfile) is also filed under its target.
 *
 * What realpath() would answer, with what does not exist kept as written
 * beneath the nearest part that does: built from the parent's canonical
 * form (looked up once per directory: a policy names the same ones many
 * times, ~/.ssh in seven patterns) and one lstat of the last component,
 * realpath() only for a symlink. Paths here are absolute and normalized. */
static uint64_t canon_hash(const char *p, size_t n)
{
	return ag__hash_bytes(AG_HASH_SEED, p, n);
}

static struct canon *canon_slot(struct compiler *c, const char *p, size_t n)
{
	size_t mask = c->capcanon - 1;
	for (size_t i = (size_t)canon_hash(p, n) & mask;; i = (i + 1) & mask)
		if (!c->canon[i].path ||
		    (strncmp(c->canon[i].path, p, n) == 0 && c->canon[i].path[n] == '\0'))
			return &c->canon[i];
}

static int canon_grow(struct compiler *c)
{
	size_t cap = c->capcanon ? c->capcanon * 2 : 256;
	struct canon *old = c->canon;
	size_t oldcap = c->capcanon;

	c->canon = calloc(cap, sizeof(*c->canon));
	if (!c->canon) {
		c->canon = old;
		return -1;
	}
	c->capcanon = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].path)
			*canon_slot(c, old[i].path, strlen(old[i].path)) = old[i];
	free(old);
	return 0;
}

static const char *canonical(struct compiler *c, const char *p, size_t n)
{
	if (n <= 1)
		return "/";
	if ((c->ncanon + 1) * 2 > c->capcanon && canon_grow(c) != 0)
		return NULL;
	struct canon *e = canon_slot(c, p, n);
	if (e->path)
		return e->real;
	size_t slash = n - 1;
	while (slash > 0 && p[slash] != '/')
		slash--;
	const char *parent = canonical(c, p, slash);
	if (!parent)
		return NULL;
	size_t pl = strcmp(parent, "/") == 0 ? 0 : strlen(parent);
	char *q = malloc(pl + (n - slash) + 1), *path = strndup(p, n);
	if (!q || !path) {
		free(q);
		free(path);
		return NULL;
	}
	memcpy(q, parent, pl);
	memcpy(q + pl, p + slash, n - slash);
	q[pl + n - slash] = '\0';
	/* /proc's links (self, thread-self, a process's cwd, exe, root and
	 * descriptors) lead where they do for the process that reads them:
	 * resolved here they would name the launcher's own entries, and give
	 * every launch a ruleset of its own. They stay as written, and so does
	 * a link that leads into /proc (/dev/fd). */
	struct stat st;
	if (!ag_path_within(q, "/proc")) {
		bool link = lstat(q, &st) == 0 && S_ISLNK(st.st_mode);
		char *r = link ? realpath(q, NULL) : NULL;
		if (r && ag_path_within(r, "/proc")) {
			free(r);
			r = NULL;
		}
		if (c->vars->seen)
			c->vars->seen(c->vars->seen_ctx, q, link ? &st : NULL, r);
		if (r) {
			free(q);
			q = r;
		}
	}
	/* The recursion may have grown the table: find the slot again. */
	e = canon_slot(c, p, n);
	*e = (struct canon){.path = path, .real = q};
	c->ncanon++;
	return q;
}

/* Splits a normalized pattern at its first component with a wildcard. */
static int file_pattern(struct compiler *c, const char *pat, uint32_t rule)
{
	const char *split = pat + strlen(pat);

	for (const char *comp = pat; *comp;) {
		const char *next = strchr(comp + 1, '/');
		size_t n = next ? (size_t)(next - comp) : strlen(comp);
		if (ag_glob_has_magic(comp, n)) {
			split = comp;
			break;
		}
		comp += n;
	}
	size_t plen = (size_t)(split - pat);
	char *prefix = unescape(pat, plen);
	if (!prefix)
		return -1;
	if (*prefix == '/') {
		const char *canon = canonical(c, prefix, strlen(prefix));
		if (canon && strcmp(canon, prefix) != 0 && strcmp(canon, "/") != 0 &&
		    add_pat(c, strdup(canon), split, rule) != 0)
			return free(prefix), -1;
	}
	return add_pat(c, prefix, split, rule);
}

/* Absolute, single slashes, no "." and no trailing slash. ".." can never
 * match a resolved path, so it is refused rather than silently dead. */
static int normalize(struct compiler *c, char *pat, const char *const *elems, size_t depth)
{
	char tmp[PAT_MAX + 2];
	size_t o = 0;

	if (pat[0] == '@')
		return 0; /* an abstract unix socket name: not a path */
	if (pat[0] == '*' && pat[1] == '*') {
		tmp[o++] = '/';
	} else if (pat[0] != '/') {
		return at(c, elems, depth, false,
			  "path pattern \"%.80s\" is not absolute; Hint: start it with /, "
			  "${WORKSPACE}, ${HOME}, ${TMPDIR} or ** (or @ for an abstract socket)",
			  pat);
	}
	for (char *p = pat; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *end = p;
		while (*end && *end != '/')
			end++;
		size_t n = (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return at(c, elems, depth, false,
				  "path pattern \"%.80s\" contains \"..\", which never matches a "
				  "resolved path",
				  pat);
		if (!(n == 1 && p[0] == '.')) {
			if (o + n + 2 >= sizeof(tmp))
				return at(c, elems, depth, false, "pattern too long");
			if (o == 0 || tmp[o - 1] != '/')
				tmp[o++] = '/';
			memcpy(tmp + o, p, n);
			o += n;
		}
		p = end;
	}
	if (o == 0)
		tmp[o++] = '/';
	tmp[o] = '\0';
	strcpy(pat, tmp);
	return 0;
}

static int parse_paths(struct compiler *c, json_t *paths, const char *const *elems,
		       uint32_t rule)
{
	size_t i;
	json_t *v;
	char idx[32], pat[PAT_MAX + 2];
	const char *sub[] = {elems[0], elems[1], "paths", idx};

	if (!json_is_array(paths) || json_array_size(paths) == 0)
		return at(c, sub, 3, false, "\"paths\" must be a non-empty array of path patterns");
	json_array_foreach(paths, i, v) {
		snprintf(idx, sizeof(idx), "[%zu]", i);
		if (want_string(c, v, sub, 4, "a path pattern") != 0)
			return -1;
		if (expand(c, json_string_value(v), pat, sub, 4) != 0 ||
		    normalize(c, pat, sub, 4) != 0)
			return -1;
		if (file_pattern(c, pat, rule) != 0)
			return at(c, sub, 4, false, "out of memory");
	}
	return 0;
}

static int parse_ops(struct compiler *c, json_t *ops, const char *const *elems, uint32_t *out)
{
	size_t i;
	json_t *v;
	char idx[32];
	const char *sub[] = {elems[0], elems[1], "ops", idx};

	if (!json_is_array(ops) || json_array_size(ops) == 0)
		return at(c, sub, 3, false, "\"ops\" must be a non-empty array of operations");
	*out = 0;
	json_array_foreach(ops, i, v) {
		snprintf(idx, sizeof(idx), "[%zu]", i);
		if (want_string(c, v, sub, 4, "an operation") != 0)
			return -1;
		int op = ag_op_from_string(json_string_value(v));
		if (op < 0)
			return at(c, sub, 4, false,
				  "unknown operation \"%.64s\"; known: read, write, create, delete, "
				  "rename, link, chmod, exec, connect",
				  json_string_value(v));
		*out |= AG_OPBIT(op);
	}
	return 0;
}

/* "argv": patterns that must each match some argument of the command line. */
static int parse_argv(struct compiler *c, json_t *arr, const char **el, struct crule *cr)
{
	size_t i, len = 1;
	json_t *v;
	char idx[32];
	const char *sub[] = {el[0], el[1], "argv", idx};

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return at(c, sub, 3, false, "\"argv\" must be a non-empty array of patterns");
	if (!(cr->ops & AG_OPBIT(AG_OP_EXEC)))
		return at(c, sub, 3, true, "\"argv\" only applies to rules with \"exec\"");
	json_array_foreach(arr, i, v) {
		snprintf(idx, sizeof(idx), "[%zu]", i);
		if (want_string(c, v, sub, 4, "an argv pattern") != 0)
			return -1;
		if (!json_string_length(v))
			return at(c, sub, 4, false, "an argv pattern must not be empty");
		len += json_string_length(v) + 1;
	}
	if (!(cr->argv = malloc(len)))
		return at(c, sub, 3, false, "out of memory");
	char *o = cr->argv;
	json_array_foreach(arr, i, v) {
		memcpy(o, json_string_value(v), json_string_length(v) + 1);
		o += json_string_length(v) + 1;
	}
	*o = '\0';
	cr->argv_len = len;
	return 0;
}

/* A NUL-separated list ending in an empty string, from an array of strings. */
static int string_list(struct compiler *c, json_t *arr, const char *const *sub, const char *what,
		       char **out, size_t *outlen)
{
	size_t i, len = 1;
	json_t *v;
	char idx[32];
	const char *el[] = {sub[0], sub[1], sub[2], idx};

	json_array_foreach(arr, i, v) {
		snprintf(idx, sizeof(idx), "[%zu]", i);
		if (want_string(c, v, el, 4, what) != 0)
			return -1;
		if (!json_string_length(v))
			return at(c, el, 4, false, "%s must not be empty", what);
		len += json_string_length(v) + 1;
	}
	char *o = *out = malloc(len);
	if (!o)
		return at(c, sub, 3, false, "out of memory");
	json_array_foreach(arr, i, v) {
		memcpy(o, json_string_value(v), json_string_length(v) + 1);
		o += json_string_length(v) + 1;
	}
	*o = '\0';
	*outlen = len;
	return 0;
}

static int parse_cidrs(struct compiler *c, json_t *arr, const char *const *sub, struct crule *cr)
{
	size_t i;
	json_t *v;
	char idx[32];
	const char *el[] = {sub[0], sub[1], sub[2], idx};

	if (!(cr->cidrs = calloc(json_array_size(arr), sizeof(*cr->cidrs))))
		return at(c, sub, 3, false, "out of memory");
	json_array_foreach(arr, i, v) {
		snprintf(idx, sizeof(idx), "[%zu]", i);
		if (want_string(c, v, el, 4, "an address") != 0)
			return -1;
		if (ag_cidr_parse(json_string_value(v), &cr->cidrs[cr->ncidr]) != 0)
			return at(c, el, 4, false,
				  "\"%.64s\" is not an address or CIDR range; Hint: 10.0.0.0/8, "
				  "169.254.169.254, fd00:ec2::254, ::1/128",
				  json_string_value(v));
		cr->ncidr++;
	}
	return 0;
}

static int parse_ports(struct compiler *c, json_t *arr, const char *const *sub, struct crule *cr)
{
	size_t i;
	json_t *v;
	char idx[32], text[32];
	const char *el[] = {sub[0], sub[1], sub[2], idx};

	if (!(cr->ports = calloc(json_array_size(arr), sizeof(*cr->ports))))
		return at(c, sub, 3, false, "out of memory");
	json_array_foreach(arr, i, v) {
		snprintf(idx, sizeof(idx), "[%zu]", i);
		if (json_is_integer(v))
			snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
		else if (json_is_string(v))
			snprintf(text, sizeof(text), "%s", json_string_value(v));
		else
			text[0] = '\0';
		if (ag_port_range_parse(text, &cr->ports[i][0], &cr->ports[i][1]) != 0)
			return at(c, el, 4, false,
				  "a port is a number from 1 to 65535 or a range \"8000-8100\"");
		cr->nport++;
	}
	return 0;
}

/* A name of labels (letters, digits, '-', '_'), optionally "*." first: a
 * pattern that could never match is an error, not a silent hole. */
static bool good_host(const char *h)
{
	if (strncmp(h, "*.", 2) == 0)
		h += 2;
	size_t label = 0;
	for (const char *p = h; *p; p++) {
		if (*p == '.') {
			if (!label && p[1])
				return false;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') {
			label++;
		} else {
			return false;
		}
	}
	return *h && *h != '.';
}

static int check_hosts(struct compiler *c, json_t *arr, const char *const *sub)
{
	size_t i;
	json_t *v;
	char idx[32];
	const char *el[] = {sub[0], sub[1], sub[2], idx};

	json_array_foreach(arr, i, v) {
		snprintf(idx, sizeof(idx), "[%zu]", i);
		if (json_is_string(v) && !good_host(json_string_value(v)))
			return at(c, el, 4, false,
				  "\"%.64s\" is not a host name or pattern; Hint: "
				  "\"api.example.com\" or \"*.example.com\"",
				  json_string_value(v));
	}
	return 0;
}

/* "addrs", "ports", "hosts": where a connect rule applies. */
static int parse_net(struct compiler *c, json_t *r, const char **el, struct crule *cr)
{
	static const char *const fields[] = {"addrs", "ports", "hosts"};
	for (int f = 0; f < 3; f++) {
		json_t *v = json_object_get(r, fields[f]);
		const char *sub[] = {el[0], el[1], fields[f], NULL};
		if (!v)
			continue;
		if (!(cr->ops & AG_OPBIT(AG_OP_CONNECT)))
			return at(c, sub, 3, true, "\"%s\" only applies to rules with \"connect\"",
				  fields[f]);
		if (!json_is_array(v) || json_array_size(v) == 0)
			return at(c, sub, 3, false, "\"%s\" must be a non-empty array", fields[f]);
		int rc = f == 0   ? parse_cidrs(c, v, sub, cr)
			 : f == 1 ? parse_ports(c, v, sub, cr)
				  : string_list(c, v, sub, "a host name", &cr->hosts, &cr->hosts_len) ||
					    check_hosts(c, v, sub);
		if (rc != 0)
			return -1;
		cr->net = true;
	}
	return 0;
}

static bool good_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._:-", *p)))
			return false;
	return true;
}

static int parse_rule(struct compiler *c, json_t *r, size_t i, uint32_t index)
{
	static const char *const known[] = {"id",	   "description", "ops",   "paths",
					    "action",	   "errno",	  "unguardable", "argv",
					    "addrs",	   "ports",	  "hosts",	 NULL};
	char idx[32];
	snprintf(idx, sizeof(idx), "[%zu]", i);
	const char *el[] = {"rules", idx, NULL};
	struct crule *cr = &c->rules[index];
	json_t *v;

	if (!json_is_object(r))
		return at(c, el, 2, false, "each rule must be an object");
	if (check_fields(c, r, el, 2, known, "a rule") != 0)
		return -1;
	for (const char *const *k = known; *k; k++) {
		if (strcmp(*k, "description") == 0 || strcmp(*k, "errno") == 0 ||
		    strcmp(*k, "unguardable") == 0 || strcmp(*k, "argv") == 0 ||
		    strcmp(*k, "addrs") == 0 || strcmp(*k, "ports") == 0 ||
		    strcmp(*k, "hosts") == 0 || strcmp(*k, "paths") == 0)
			continue;
		if (!json_object_get(r, *k))
			return at(c, el, 2, false, "rule %s has no \"%s\"", idx, *k);
	}
	el[2] = "id";
	v = json_object_get(r, "id");
	if (want_string(c, v, el, 3, "\"id\"") != 0)
		return -1;
	if (!good_id(json_string_value(v)))
		return at(c, el, 3, false,
			  "rule id \"%.64s\" must be 1 to 64 letters, digits or . _ : -",
			  json_string_value(v));
	for (size_t k = 0; k < index; k++)
		if (strcmp(c->rules[k].id, json_string_value(v)) == 0)
			return at(c, el, 3, false, "rule id \"%.64s\" is used twice",
				  json_string_value(v));
	if (!(cr->id = strdup(json_string_value(v))))
		return -1;
	el[2] = "description";
	if ((v = json_object_get(r, "description")) && want_string(c, v, el, 3, "\"description\""))
		return -1;
	el[2] = "action";
	if (parse_action(c, json_object_get(r, "action"), el, 3, &cr->action) != 0)
		return -1;
	if ((v = json_object_get(r, "errno"))) {
		el[2] = "errno";
		if (want_string(c, v, el, 3, "\"errno\"") != 0)
			return -1;
		if (!(cr->err = ag_errno_from_string(json_string_value(v))))
			return at(c, el, 3, false,
				  "unknown errno \"%.64s\"; Hint: EACCES, EPERM, EROFS, ENOENT, ...",
				  json_string_value(v));
		if (cr->action != AG_DENY && cr->action != AG_ASK)
			return at(c, el, 3, false, "\"errno\" only applies to deny rules (and ask rules)");
	}
	if (parse_ops(c, json_object_get(r, "ops"), el, &cr->ops) != 0)
		return -1;
	if ((v = json_object_get(r, "argv")) && parse_argv(c, v, el, cr) != 0)
		return -1;
	if (parse_net(c, r, el, cr) != 0)
		return -1;
	cr->unguardable = -1;
	if ((v = json_object_get(r, "unguardable"))) {
		ag_action_t a;
		el[2] = "unguardable";
		if (parse_action(c, v, el, 3, &a) != 0)
			return -1;
		if (a == AG_ASK)
			return at(c, el, 3, false, "\"unguardable\" cannot be \"ask\"; Hint: \"allow\", "
				  "\"audit\" or \"deny\": nobody is asked about a program the guard "
				  "cannot follow");
		if (!(cr->ops & AG_OPBIT(AG_OP_EXEC)))
			return at(c, el, 3, true, "\"unguardable\" only applies to rules with \"exec\"");
		cr->unguardable = (int)a;
	}
	if (!json_object_get(r, "paths")) {
		if (cr->net)
			return 0;
		el[2] = NULL;
		return at(c, el, 2, false,
			  "rule %s has no \"paths\" (a connect rule may have \"addrs\", "
			  "\"ports\" or \"hosts\" instead)",
			  idx);
	}
	return parse_paths(c, json_object_get(r, "paths"), el, index);
}

/* The guard's own files (log, policy, compiled ruleset) come first so that
 * no rule can open them to the processes being guarded. */
static int add_self_rule(struct compiler *c)
{
	c->rules[0] = (struct crule){
		.ops = AG_OPS_ALL & ~(AG_OPBIT(AG_OP_READ) | AG_OPBIT(AG_OP_EXEC) |
				      AG_OPBIT(AG_OP_CONNECT)),
		.action = AG_DENY,
		.unguardable = -1,
		.id = strdup("agentguard-self"),
	};
	if (!c->rules[0].id)
		return -1;
	for (const char *const *p = c->vars->self_paths; *p; p++) {
		char pat[PAT_MAX + 2];
		if (strlen(*p) >= sizeof(pat))
			return -1;
		strcpy(pat, *p);
		const char *none[1] = {NULL};
		if (normalize(c, pat, none, 0) != 0 || file_pattern(c, pat, 0) != 0)
			return -1;
	}
	return 0;
}

/* Asking needs a question about one operation: a default or an
 * unguardable program cannot be asked about, so "ask" is refused there. */
static int parse_ask_settings(struct compiler *c, json_t *root)
{
	const char *el[1] = {"default"};
	json_t *v;

	if (c->def == AG_ASK)
		return at(c, el, 1, false, "\"default\" cannot be \"ask\"; Hint: add a rule with "
			  "\"action\": \"ask\" for the operations to ask about");
	el[0] = "unguardable";
	if (c->unguardable == AG_ASK)
		return at(c, el, 1, false, "\"unguardable\" cannot be \"ask\"; Hint: \"allow\", "
			  "\"audit\" or \"deny\"");
	el[0] = "ask_timeout";
	if (!(v = json_object_get(root, "ask_timeout")))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3600)
		return at(c, el, 1, false, "\"ask_timeout\" is a number of seconds from 1 to 3600");
	c->ask_timeout = (unsigned)json_integer_value(v);
	return 0;
}

static int floor_flag(struct compiler *c, json_t *f, const char **el, const char *name,
		      unsigned flag)
{
	json_t *v = json_object_get(f, name);
	el[1] = name;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return at(c, el, 2, false, "\"%s\" is true or false", name);
	if (json_is_true(v))
		c->floor_flags |= flag;
	return 0;
}

/* "floor": {"hide_secrets": true, "truncate": true}: how the kernel floor
 * is built. */
static int parse_floor_settings(struct compiler *c, json_t *root)
{
	static const char *const known[] = {"hide_secrets", "truncate", NULL};
	const char *el[3] = {"floor", NULL, NULL};
	json_t *f = json_object_get(root, "floor");

	if (!f)
		return 0;
	if (!json_is_object(f))
		return at(c, el, 1, false,
			  "\"floor\" is an object; Hint: \"floor\": {\"hide_secrets\": true}");
	if (check_fields(c, f, el, 1, known, "\"floor\"") != 0)
		return -1;
	return floor_flag(c, f, el, "hide_secrets", AG_FLOOR_HIDE_SECRETS) ||
	       floor_flag(c, f, el, "truncate", AG_FLOOR_TRUNCATE);
}

static int parse_top(struct compiler *c, json_t *root, size_t self)
{
	static const char *const known[] = {"version", "description", "default", "unguardable",
					    "rules", "ask_timeout", "floor", NULL};
	const char *el[2] = {NULL, NULL};
	json_t *v, *rules;
	size_t i;

	if (!json_is_object(root))
		return at(c, el, 0, false, "a policy must be a JSON object");
	if (check_fields(c, root, el, 0, known, "the policy") != 0)
		return -1;
	el[0] = "version";
	v = json_object_get(root, "version");
	if (!v)
		return at(c, el, 0, false, "the policy has no \"version\"; Hint: \"version\": 1");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return at(c, el, 1, false, "unsupported policy version; this agentguard reads 1");
	el[0] = "description";
	if ((v = json_object_get(root, "description")) && want_string(c, v, el, 1, "\"description\""))
		return -1;
	c->def = AG_ALLOW;
	el[0] = "default";
	if ((v = json_object_get(root, "default")) && parse_action(c, v, el, 1, &c->def) != 0)
		return -1;
	c->unguardable = AG_DENY;
	el[0] = "unguardable";
	if ((v = json_object_get(root, "unguardable")) &&
	    parse_action(c, v, el, 1, &c->unguardable) != 0)
		return -1;
	c->unguardable_said = v != NULL;
	if (parse_ask_settings(c, root) != 0 || parse_floor_settings(c, root) != 0)
		return -1;
	el[0] = "rules";
	rules = json_object_get(root, "rules");
	if (!json_is_array(rules))
		return at(c, el, rules ? 1 : 0, false, "the policy needs a \"rules\" array");
	c->caprules = json_array_size(rules) + self;
	c->rules = calloc(c->caprules, sizeof(*c->rules));
	if (!c->rules)
		return at(c, el, 0, false, "out of memory");
	c->nrules = self;
	if (self && add_self_rule(c) != 0)
		return at(c, el, 0, false, "cannot protect the guard's own files");
	json_array_foreach(rules, i, v) {
		if (parse_rule(c, v, i, (uint32_t)c->nrules) != 0)
			return -1;
		c->nrules++;
	}
	return 0;
}

static void free_compiler(struct compiler *c)
{
	for (size_t i = 0; i < c->caprules; i++) {
		free(c->rules[i].id);
		free(c->rules[i].argv);
		free(c->rules[i].cidrs);
		free(c->rules[i].ports);
		free(c->rules[i].hosts);
	}
	for (size_t i = 0; i < c->npats; i++) {
		free(c->pats[i].prefix);
		free(c->pats[i].rest);
	}
	for (size_t i = 0; i < c->capcanon; i++) {
		free(c->canon[i].path);
		free(c->canon[i].real);
	}
	free(c->rules);
	free(c->pats);
	free(c->canon);
}

/* A setting of the whole policy that the emitter need not know: written
 * into the finished header, which is then sealed again. */
static void set_ask_timeout(void *blob, size_t len, unsigned secs, unsigned floor_flags)
{
	struct ag_blob_hdr *h = blob;
	h->ask_timeout = secs;
	h->floor_flags = floor_flags;
	h->checksum = ag__checksum(blob, len);
}

int ag_policy_compile(const char *text, size_t len, const char *source, const ag_vars_t *vars,
		      void **blob, size_t *blob_len, ag_error_t *err)
{
	struct compiler c = {.text = text, .len = len, .vars = vars, .err = err};
	json_error_t jerr;
	int rc = -1;
	size_t self = vars->self_paths && vars->self_paths[0] ? 1 : 0;

	memset(err, 0, sizeof(*err));
	snprintf(err->source, sizeof(err->source), "%s", source);
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		err->line = jerr.line > 0 ? jerr.line : 0;
		err->column = jerr.column > 0 ? jerr.column : 0;
		snprintf(err->text, sizeof(err->text), "%s", jerr.text);
		return -1;
	}
	if (parse_top(&c, root, self) != 0)
		goto out;
	uint64_t h = ag__hash_bytes(AG_HASH_SEED, text, len);
	const char *vs[] = {vars->workspace, vars->home, vars->tmpdir, source,
			    vars->log ? vars->log : "", vars->mode ? vars->mode : ""};
	for (size_t i = 0; i < 6; i++)
		h = ag__hash_bytes(h, vs[i], strlen(vs[i]) + 1);
	for (const char *const *p = vars->self_paths; p && *p; p++)
		h = ag__hash_bytes(h, *p, strlen(*p) + 1);
	/* and what the file system made of the prefixes: a symlink made
	 * since is a new alias, so a new compiled file (the launcher reuses
	 * a stored one by this hash) */
	for (size_t i = 0; i < c.npats; i++)
		h = ag__hash_bytes(h, c.pats[i].prefix, strlen(c.pats[i].prefix) + 1);
	rc = ag__policy_emit(source, vars, c.rules, c.nrules, c.pats, c.npats, c.def,
			     c.unguardable | (c.unguardable_said ? 0 : AG_UNGUARDABLE_IMPLICIT), h,
			     blob, blob_len);
	if (rc != 0)
		snprintf(err->text, sizeof(err->text), "out of memory compiling the policy");
	else
		set_ask_timeout(*blob, *blob_len, c.ask_timeout, c.floor_flags);
out:
	json_decref(root);
	free_compiler(&c);
	return rc;
}

int ag_policy_compile_file(const char *path, const ag_vars_t *vars, void **blob, size_t *blob_len,
			   ag_error_t *err)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0, cap = 0;

	memset(err, 0, sizeof(*err));
	snprintf(err->source, sizeof(err->source), "%s", path);
	if (!f) {
		snprintf(err->text, sizeof(err->text), "cannot open: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 16384;
			char *n = cap > (64u << 20) ? NULL : realloc(text, cap);
			if (!n) {
				snprintf(err->text, sizeof(err->text), "policy file too large");
				fclose(f);
				free(text);
				return -1;
			}
			text = n;
		}
		size_t got = fread(text + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		snprintf(err->text, sizeof(err->text), "read error");
		free(text);
		return -1;
	}
	int rc = ag_policy_compile(text, len, path, vars, blob, blob_len, err);
	free(text);
	return rc;
}
