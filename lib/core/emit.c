/* Lays a parsed policy out as the flat blob described in blob.h. */
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "compile.h"

struct strtab {
	char *buf;
	size_t len, cap;
};

static int64_t put(struct strtab *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (t->len + n + 1 > cap)
			cap *= 2;
		char *b = realloc(t->buf, cap);
		if (!b)
			return -1;
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->buf[t->len + n] = '\0';
	t->len += n + 1;
	return (int64_t)(t->len - n - 1);
}

static int by_prefix_then_rule(const void *a, const void *b)
{
	const struct cpat *x = a, *y = b;
	int c = strcmp(x->prefix, y->prefix);
	if (c)
		return c;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int emit_net(struct strtab *st, const struct crule *r, uint32_t index, struct ag_bnet *bn,
		    struct ag_bcidr *bc, uint16_t *bpt, uint32_t *nets, uint32_t *cidrs,
		    uint32_t *ports)
{
	struct ag_bnet *n = &bn[(*nets)++];
	int64_t hoff = AG_NO_ARGV;

	if (r->hosts && (hoff = put(st, r->hosts, r->hosts_len - 1)) < 0)
		return -1;
	*n = (struct ag_bnet){.rule = index, .first_cidr = *cidrs, .ncidr = (uint32_t)r->ncidr,
			      .first_port = *ports, .nport = (uint32_t)r->nport,
			      .hosts_off = (uint32_t)hoff};
	for (size_t i = 0; i < r->ncidr; i++, (*cidrs)++) {
		bc[*cidrs].family = r->cidrs[i].family;
		bc[*cidrs].prefix = r->cidrs[i].prefix;
		memcpy(bc[*cidrs].addr, r->cidrs[i].addr, 16);
	}
	for (size_t i = 0; i < r->nport; i++, (*ports)++) {
		bpt[2 * *ports] = r->ports[i][0];
		bpt[2 * *ports + 1] = r->ports[i][1];
	}
	return 0;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static uint32_t guarded_ops(const struct crule *rules, size_t n, ag_action_t def)
{
	uint32_t ops = def != AG_ALLOW ? AG_OPS_ALL : 0;
	for (size_t i = 0; i < n; i++)
		if (rules[i].action != AG_ALLOW)
			ops |= rules[i].ops;
	return ops;
}

static int fill_strings(struct strtab *st, struct ag_blob_hdr *h, const char *source,
			const ag_vars_t *vars)
{
	int64_t o[6];
	const char *v[6] = {vars->workspace, vars->home, vars->tmpdir, source,
			    vars->log ? vars->log : "", vars->mode ? vars->mode : "enforce"};
	for (int i = 0; i < 6; i++)
		if ((o[i] = put(st, v[i], strlen(v[i]))) < 0)
			return -1;
	h->workspace_off = (uint32_t)o[0];
	h->home_off = (uint32_t)o[1];
	h->tmpdir_off = (uint32_t)o[2];
	h->source_off = (uint32_t)o[3];
	h->log_off = (uint32_t)o[4];
	h->mode_off = (uint32_t)o[5];
	return 0;
}

static size_t unique_prefixes(const struct cpat *pats, size_t npats)
{
	size_t uniq = 0;
	for (size_t i = 0; i < npats; i++)
		uniq += i == 0 || strcmp(pats[i].prefix, pats[i - 1].prefix) != 0;
	return uniq;
}

/* uniq prefixes into an open-addressing table; returns its size. */
static uint32_t table_size(size_t uniq)
{
	uint32_t n = 64;
	while (n < uniq * 2)
		n *= 2;
	return n;
}

/* Each prefix's slot goes to order[] as it is placed: pats[] is sorted by
 * prefix, so order[] is too. */
static int fill_buckets(struct ag_bbucket *tab, uint32_t nb, struct cpat *pats, size_t npats,
			struct strtab *st, uint32_t *order)
{
	uint32_t used = 0;

	for (size_t i = 0; i < npats;) {
		size_t j = i;
		while (j < npats && strcmp(pats[j].prefix, pats[i].prefix) == 0)
			j++;
		size_t plen = strlen(pats[i].prefix);
		uint64_t h = ag__hash_bytes(AG_HASH_SEED, pats[i].prefix, plen);
		uint32_t k = (uint32_t)h & (nb - 1);
		while (tab[k].count)
			k = (k + 1) & (nb - 1);
		int64_t off = put(st, pats[i].prefix, plen);
		if (off < 0)
			return -1;
		tab[k] = (struct ag_bbucket){.hash = h, .prefix_off = (uint32_t)off,
					     .prefix_len = (uint32_t)plen, .first = (uint32_t)i,
					     .count = (uint32_t)(j - i)};
		order[used++] = k;
		i = j;
	}
	return 0;
}

/* The literal run an escaped glob ends with: after its last magic or
 * escape character, and not ending in '/'. Whatever the glob matches ends
 * with those bytes, so a path that does not is passed over without
 * matching: the patterns that begin with a double star are tried on every
 * path, and most end with a name. */
static uint32_t literal_tail(const char *p, size_t n)
{
	size_t i = n;
	if (n == 0 || p[n - 1] == '/')
		return 0;
	while (i > 0 && !strchr("*?[]\\", p[i - 1]))
		i--;
	return (uint32_t)(n - i);
}

int ag__policy_emit(const char *source, const ag_vars_t *vars, const struct crule *rules,
		    size_t nrules, struct cpat *pats, size_t npats, ag_action_t def,
		    ag_action_t unguardable, uint64_t hash, void **blob, size_t *blob_len)
{
	struct strtab st = {0};
	struct ag_blob_hdr h = {.version = AG_BLOB_VERSION, .default_action = def,
				.policy_hash = hash, .unguardable = unguardable};
	int rc = -1;

	memcpy(h.magic, AG_BLOB_MAGIC, 8);
	if (npats)
		qsort(pats, npats, sizeof(*pats), by_prefix_then_rule);
	h.nrules = (uint32_t)nrules;
	h.npats = (uint32_t)npats;
	h.nbuckets_used = (uint32_t)unique_prefixes(pats, npats);
	h.nbuckets = table_size(h.nbuckets_used);
	h.guarded_ops = guarded_ops(rules, nrules, def);
	h.rules_off = (uint32_t)align8(sizeof(h));
	h.pats_off = (uint32_t)align8(h.rules_off + nrules * sizeof(struct ag_brule));
	h.buckets_off = (uint32_t)align8(h.pats_off + npats * sizeof(struct ag_bpat));
	h.filter_off = (uint32_t)align8(h.buckets_off + h.nbuckets * sizeof(struct ag_bbucket));
	h.filter_words = h.nbuckets / 8; /* 8 bits per table slot, >= 4 per prefix */
	size_t ncidr = 0, nport = 0;
	for (size_t i = 0; i < nrules; i++) {
		h.nnet += rules[i].net;
		ncidr += rules[i].ncidr;
		nport += rules[i].nport;
	}
	h.ncidrs = (uint32_t)ncidr;
	h.nports = (uint32_t)nport;
	h.net_off = (uint32_t)align8(h.filter_off + h.filter_words * sizeof(uint64_t));
	h.cidrs_off = (uint32_t)align8(h.net_off + h.nnet * sizeof(struct ag_bnet));
	h.ports_off = (uint32_t)align8(h.cidrs_off + ncidr * sizeof(struct ag_bcidr));
	h.order_off = (uint32_t)align8(h.ports_off + nport * 2 * sizeof(uint16_t));
	h.strings_off = (uint32_t)align8(h.order_off + h.nbuckets_used * sizeof(uint32_t));

	struct ag_bnet *bn = calloc(h.nnet ? h.nnet : 1, sizeof(*bn));
	struct ag_bcidr *bc = calloc(ncidr ? ncidr : 1, sizeof(*bc));
	uint16_t *bpt = calloc(nport ? 2 * nport : 1, sizeof(*bpt));
	uint32_t nets = 0, cidrs = 0, ports = 0;
	struct ag_brule *br = calloc(nrules ? nrules : 1, sizeof(*br));
	struct ag_bpat *bp = calloc(npats ? npats : 1, sizeof(*bp));
	struct ag_bbucket *bb = calloc(h.nbuckets, sizeof(*bb));
	uint32_t *order = calloc(h.nbuckets_used ? h.nbuckets_used : 1, sizeof(*order));
	if (!br || !bp || !bb || !bn || !bc || !bpt || !order ||
	    fill_strings(&st, &h, source, vars) != 0)
		goto out;
	for (size_t i = 0; i < nrules; i++) {
		int64_t off = put(&st, rules[i].id, strlen(rules[i].id));
		if (off < 0)
			goto out;
		if (rules[i].net && emit_net(&st, &rules[i], (uint32_t)i, bn, bc, bpt, &nets, &cidrs,
					     &ports) != 0)
			goto out;
		int64_t aoff = AG_NO_ARGV;
		if (rules[i].argv && (aoff = put(&st, rules[i].argv, rules[i].argv_len - 1)) < 0)
			goto out;
		br[i] = (struct ag_brule){
		    .ops = rules[i].ops, .action = (uint16_t)rules[i].action,
		    .err = (uint16_t)rules[i].err, .id_off = (uint32_t)off,
		    .unguardable = (uint16_t)(rules[i].unguardable < 0 ? 0 : rules[i].unguardable + 1),
		    .argv_off = (uint32_t)aoff};
	}
	for (size_t i = 0; i < npats; i++) {
		size_t n = strlen(pats[i].rest);
		int64_t off = put(&st, pats[i].rest, n);
		if (off < 0)
			goto out;
		bp[i] = (struct ag_bpat){.rule = pats[i].rule, .rest_off = (uint32_t)off,
					 .rest_len = (uint32_t)n,
					 .tail = literal_tail(pats[i].rest, n),
					 .slashes = ag__glob_slashes(pats[i].rest, n)};
	}
	if (fill_buckets(bb, h.nbuckets, pats, npats, &st, order) != 0)
		goto out;
	h.strings_len = (uint32_t)st.len;
	size_t total = align8(h.strings_off + st.len);
	if (total > UINT32_MAX)
		goto out;
	h.total_len = (uint32_t)total;
	char *b = aligned_alloc(8, total);
	if (!b)
		goto out;
	memset(b, 0, total);
	memcpy(b + h.rules_off, br, nrules * sizeof(*br));
	memcpy(b + h.pats_off, bp, npats * sizeof(*bp));
	memcpy(b + h.buckets_off, bb, h.nbuckets * sizeof(*bb));
	memcpy(b + h.net_off, bn, h.nnet * sizeof(*bn));
	memcpy(b + h.cidrs_off, bc, ncidr * sizeof(*bc));
	memcpy(b + h.ports_off, bpt, nport * 2 * sizeof(*bpt));
	memcpy(b + h.order_off, order, h.nbuckets_used * sizeof(*order));
	memcpy(b + h.strings_off, st.buf, st.len);
	uint64_t *filter = (uint64_t *)(b + h.filter_off);
	for (uint32_t i = 0; i < h.nbuckets; i++) {
		if (!bb[i].count)
			continue;
		uint64_t bit = ag__filter_bit(bb[i].hash, h.filter_words);
		filter[bit / 64] |= 1ull << (bit % 64);
	}
	memcpy(b, &h, sizeof(h));
	h.checksum = ag__checksum(b, total);
	memcpy(b, &h, sizeof(h));
	*blob = b;
	*blob_len = total;
	rc = 0;
out:
	free(bn);
	free(bc);
	free(bpt);
	free(br);
	free(bp);
	free(bb);
	free(order);
	free(st.buf);
	return rc;
}
