// Rules that can never match: first match wins, so a rule whose every
// operation and pattern an earlier rule already covers is dead text. The
// test is conservative and exact: it warns only where coverage is proved
// (identical patterns, "X/**" over anything under X, "/**" over every path;
// argv, addresses, host names and ports compared the same way), and keeps
// quiet when in doubt. Variables are compared as written: ${HOME}/** covers
// ${HOME}/.x, but ${TMPDIR}/** is not taken to cover /tmp/x.
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

struct srule {
	const char *id;
	uint32_t ops;
	json_t *paths, *argv, *addrs, *ports, *hosts;
};

static uint32_t ops_of(json_t *arr)
{
	size_t i;
	json_t *v;
	uint32_t ops = 0;
	json_array_foreach(arr, i, v) {
		int op = ag_op_from_string(json_string_value(v) ? json_string_value(v) : "");
		if (op >= 0)
			ops |= AG_OPBIT(op);
	}
	return ops;
}

// "**" and "**/x" start at the root, as the loader reads them.
static void norm(const char *in, char *out, size_t sz)
{
	snprintf(out, sz, "%s%s", in[0] == '*' && in[1] == '*' ? "/" : "", in);
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
}

static bool pattern_covers(const char *a_in, const char *b_in)
{
	char a[PATH_MAX * 2], b[PATH_MAX * 2];
	norm(a_in, a, sizeof(a));
	norm(b_in, b, sizeof(b));
	if (!strcmp(a, b))
		return true;
	size_t n = strlen(a);
	if (n < 3 || strcmp(a + n - 3, "/**") != 0)
		return false;
	n -= 3; // a is X/** : X itself and anything under X
	return (strlen(b) == n && !strncmp(a, b, n)) || (!strncmp(a, b, n) && b[n] == '/');
}

static bool in_list(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* Every argv pattern of the earlier rule is one the later rule demands. */
static bool argv_covers(const struct srule *i, const struct srule *j)
{
	size_t k;
	json_t *v;
	if (!i->argv)
		return true;
	if (!j->argv)
		return false;
	json_array_foreach(i->argv, k, v)
		if (!in_list(j->argv, json_string_value(v)))
			return false;
	return true;
}

static bool covered_path(const struct srule *r, int n, int op, const char *pat, int *by)
{
	for (int i = 0; i < n; i++) {
		size_t k;
		json_t *v;
		if (!(r[i].ops & AG_OPBIT(op)) || !r[i].paths || !argv_covers(&r[i], &r[n]))
			continue;
		json_array_foreach(r[i].paths, k, v)
			if (pattern_covers(json_string_value(v), pat)) {
				*by = i;
				return true;
			}
	}
	return false;
}

static bool cidr_within(const char *outer, const char *inner)
{
	ag_cidr_t o, in;
	if (ag_cidr_parse(outer, &o) != 0 || ag_cidr_parse(inner, &in) != 0 ||
	    o.family != in.family || o.prefix > in.prefix)
		return false;
	ag_netaddr_t a = {.family = in.family, .port = -1};
	memcpy(a.addr, in.addr, 16);
	return ag_cidr_match(&o, &a);
}

static bool host_within(const char *outer, const char *inner)
{
	if (!strcasecmp(outer, inner))
		return true;
	if (strncmp(outer, "*.", 2) != 0)
		return false;
	size_t o = strlen(outer + 1), n = strlen(inner); /* ".example.com" */
	return n > o && !strcasecmp(inner + n - o, outer + 1) && inner[n - o - 1] != '*';
}

static bool port_range(json_t *v, uint16_t *lo, uint16_t *hi)
{
	char t[32];
	if (json_is_integer(v))
		snprintf(t, sizeof(t), "%lld", (long long)json_integer_value(v));
	else
		snprintf(t, sizeof(t), "%s", json_is_string(v) ? json_string_value(v) : "");
	return ag_port_range_parse(t, lo, hi) == 0;
}

/* Each element of the later list lies within some element of the earlier. */
static bool list_within(json_t *outer, json_t *inner, int kind)
{
	size_t a, b;
	json_t *x, *y;
	json_array_foreach(inner, a, y) {
		bool ok = false;
		uint16_t ylo, yhi, xlo, xhi;
		json_array_foreach(outer, b, x) {
			if (kind == 0)
				ok = ok || cidr_within(json_string_value(x), json_string_value(y));
			else if (kind == 1)
				ok = ok || host_within(json_string_value(x), json_string_value(y));
			else
				ok = ok || (port_range(x, &xlo, &xhi) && port_range(y, &ylo, &yhi) &&
					    xlo <= ylo && yhi <= xhi);
		}
		if (!ok)
			return false;
	}
	return true;
}

/* The earlier connect rule matches every destination the later one does. */
static bool net_covers(const struct srule *i, const struct srule *j)
{
	if (!(i->ops & AG_OPBIT(AG_OP_CONNECT)) || !(i->addrs || i->ports || i->hosts))
		return false;
	bool i_any = !i->addrs && !i->hosts, j_any = !j->addrs && !j->hosts;
	if (!i_any && (j_any || (j->addrs && !i->addrs) || (j->hosts && !i->hosts)))
		return false;
	if (!i_any && j->addrs && !list_within(i->addrs, j->addrs, 0))
		return false;
	if (!i_any && j->hosts && !list_within(i->hosts, j->hosts, 1))
		return false;
	if (i->ports && (!j->ports || !list_within(i->ports, j->ports, 2)))
		return false;
	return true;
}

/* The earlier rule that covers rule n, or -1 when it can still match. */
static int shadowed_by(const struct srule *r, int n, bool *several)
{
	const struct srule *j = &r[n];
	int by = -1;
	bool net = j->addrs || j->ports || j->hosts;

	if (net && j->paths)
		return -1; /* both kinds at once: not worth a guess */
	if (net) {
		for (int i = 0; i < n; i++)
			if (net_covers(&r[i], j))
				return i;
		return -1;
	}
	if (!j->paths)
		return -1;
	for (int op = 0; op < AG_OP__COUNT; op++) {
		size_t k;
		json_t *v;
		if (!(j->ops & AG_OPBIT(op)))
			continue;
		json_array_foreach(j->paths, k, v) {
			int b;
			if (!covered_path(r, n, op, json_string_value(v), &b))
				return -1;
			*several = *several || (by >= 0 && b != by);
			by = by < 0 || b > by ? b : by; /* the last one needed */
		}
	}
	return by;
}

static void load_rule(json_t *o, struct srule *r)
{
	r->id = json_string_value(json_object_get(o, "id"));
	r->ops = ops_of(json_object_get(o, "ops"));
	r->paths = json_object_get(o, "paths");
	r->argv = json_object_get(o, "argv");
	r->addrs = json_object_get(o, "addrs");
	r->ports = json_object_get(o, "ports");
	r->hosts = json_object_get(o, "hosts");
}

/* Called on a file the loader accepted, so the shape is known good. */
int warn_shadowed(const char *file)
{
	json_error_t jerr;
	json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	json_t *rules = root ? json_object_get(root, "rules") : NULL;
	size_t n = json_array_size(rules), found = 0;
	struct srule *r = calloc(n ? n : 1, sizeof(*r));

	for (size_t i = 0; r && i < n; i++) {
		load_rule(json_array_get(rules, i), &r[i]);
		bool several = false;
		int by = shadowed_by(r, (int)i, &several);
		if (by < 0)
			continue;
		found++;
		fprintf(stderr,
			"agentguard: warning: %s: rules[%zu] (%s) can never match: %srules[%d] (%s) "
			"%s\nHint: move it above rules[%d], or remove it\n",
			file, i, r[i].id, several ? "earlier rules up to " : "", by, r[by].id,
			several ? "come first and cover everything it names"
				: "comes first and covers everything it names",
			by);
	}
	free(r);
	json_decref(root);
	return (int)found;
}
