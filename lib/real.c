/* Pointers to the next definition of every hooked symbol, each resolved
 * on its first use.
 *
 * dlsym(RTLD_NEXT) costs about 850 instructions a name, most of it error
 * handling set up around a hash lookup, and we have about a hundred names,
 * of which a process uses a handful. So the constructor only lists the
 * objects loaded after this library (one dl_iterate_phdr), and a name is
 * looked up in their GNU hash tables, in load order, taking its default
 * version as dlsym does, when a hook first needs it. The lookup takes no
 * lock and allocates nothing, so it may run in a vfork child. Whatever it
 * cannot settle (an IFUNC, an object without a GNU hash table before the
 * name is found, a name found nowhere) goes to dlsym. A process about to
 * fork resolves the exec family first, so that its children do not each
 * look them up again on pages of libc they have not touched. */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>

#include "guard.h"
#include "str.h"

#define AG_HOOK(fam, ret, name, params) ret(*ag__real_##name) params AG_HOT;
#include "hooks.def"
#undef AG_HOOK

struct object {
	uintptr_t base;
	const uint32_t *gnu_hash;
	const ElfW(Sym) * symtab;
	const char *strtab;
	const ElfW(Half) * versym;
};

#define MAX_OBJECTS 16 /* past these, dlsym searches the rest */

struct scan {
	struct object obj[MAX_OBJECTS]; /* one without gnu_hash ends what we can search */
	int n;
	bool after_us; /* the objects found so far come after this library */
	const char *self; /* this library's path as the loader has it */
	bool partial;	  /* an object the table could not take ended the list */
};

/* Most loaders store relocated addresses in the dynamic section, some the
 * file's own; a value below the base is the latter. */
AG_HOT_TEXT static uintptr_t dyn_ptr(uintptr_t base, ElfW(Addr) v)
{
	return v < base ? base + v : v;
}

AG_HOT_TEXT static void read_dynamic(struct object *o, const ElfW(Dyn) * d)
{
	for (; d->d_tag != DT_NULL; d++) {
		uintptr_t p = dyn_ptr(o->base, d->d_un.d_ptr);
		switch (d->d_tag) {
		case DT_GNU_HASH: o->gnu_hash = (const uint32_t *)p; break;
		case DT_SYMTAB: o->symtab = (const ElfW(Sym) *)p; break;
		case DT_STRTAB: o->strtab = (const char *)p; break;
		case DT_VERSYM: o->versym = (const ElfW(Half) *)p; break;
		}
	}
}

AG_HOT_TEXT static int on_object(struct dl_phdr_info *info, size_t size, void *ctx)
{
	struct scan *s = ctx;
	(void)size;
	const ElfW(Dyn) *dyn = NULL;
	bool ours = false;
	uintptr_t me = (uintptr_t)ag__real_init;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)lo;
		if (ph->p_type == PT_LOAD && me >= lo && me < lo + ph->p_memsz)
			ours = true;
	}
	if (ours) {
		s->after_us = true;
		s->self = info->dlpi_name; /* the loader's own string, for life */
		return 0;
	}
	if (!s->after_us)
		return 0; /* RTLD_NEXT searches only what comes after the caller */
	struct object *o = &s->obj[s->n++];
	*o = (struct object){.base = info->dlpi_addr};
	if (dyn)
		read_dynamic(o, dyn);
	if (!o->symtab || !o->strtab)
		o->gnu_hash = NULL;
	if (!o->gnu_hash || s->n == MAX_OBJECTS) {
		s->partial = true; /* dlsym must settle what is not found here */
		return 1;
	}
	return 0;
}

static uint32_t gnu_hash(const char *name)
{
	uint32_t h = 5381;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = h * 33 + *p;
	return h;
}

/* The symbol's address in o, or NULL: defined, a function, global or weak,
 * and its default version (not a hidden older one). */
static void *find_in(const struct object *o, const char *name, uint32_t h, bool *ifunc)
{
	const uint32_t nbuckets = o->gnu_hash[0], symoffset = o->gnu_hash[1];
	const uint32_t bloom_size = o->gnu_hash[2], bloom_shift = o->gnu_hash[3];
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)(o->gnu_hash + 4);
	const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
	const uint32_t *chain = buckets + nbuckets;
	const unsigned bits = sizeof(ElfW(Addr)) * 8;

	ElfW(Addr) word = bloom[(h / bits) % bloom_size];
	ElfW(Addr) mask =
	    ((ElfW(Addr))1 << (h % bits)) | ((ElfW(Addr))1 << ((h >> bloom_shift) % bits));
	if ((word & mask) != mask || nbuckets == 0)
		return NULL;
	uint32_t i = buckets[h % nbuckets];
	if (i < symoffset)
		return NULL;
	for (;; i++) {
		uint32_t ch = chain[i - symoffset];
		const ElfW(Sym) *sym = &o->symtab[i];
		if ((ch | 1) == (h | 1) && strcmp(o->strtab + sym->st_name, name) == 0 &&
		    sym->st_shndx != SHN_UNDEF &&
		    (ELF64_ST_BIND(sym->st_info) == STB_GLOBAL ||
		     ELF64_ST_BIND(sym->st_info) == STB_WEAK) &&
		    (!o->versym || !(o->versym[i] & 0x8000))) {
			*ifunc = ELF64_ST_TYPE(sym->st_info) == STT_GNU_IFUNC;
			return (void *)(o->base + sym->st_value);
		}
		if (ch & 1)
			return NULL;
	}
}

/* At load (late false) whatever the table cannot settle goes to dlsym.
 * On first use (late true) dlsym is not called: it may lock and allocate,
 * and this may run in a vfork child or a signal handler. Late lookups
 * happen only where the table lists every object after this library
 * (ag__real_init checks), so a name it does not find, dlsym would not find
 * either; an IFUNC is settled by calling its resolver, as the loader does
 * on x86-64 (elsewhere every name is resolved at load). */
static void *lookup(const struct scan *s, const char *name, bool late)
{
	uint32_t h = gnu_hash(name);
	bool ifunc = false;

	for (int i = 0; i < s->n && s->obj[i].gnu_hash; i++) {
		void *p = find_in(&s->obj[i], name, h, &ifunc);
		if (p && !ifunc)
			return p;
#if defined(__x86_64__)
		if (p && late)
			return ((void *(*)(void))p)();
#endif
		if (p)
			break;
	}
	return late ? NULL : dlsym(RTLD_NEXT, name);
}

static struct scan objects AG_HOT;
static atomic_bool scanned AG_HOT;

AG_HOT_TEXT void ag__real_init(void)
{
	if (atomic_load(&scanned))
		return;
	struct scan s = {.n = 0};
	dl_iterate_phdr(on_object, &s);
	objects = s;
#if defined(__x86_64__)
	bool late_ok = !s.partial;
#else
	bool late_ok = false;
#endif
	if (!late_ok) {
		/* The table alone cannot settle every name later: all now. */
#define AG_HOOK(fam, ret, name, params)                                                            \
	if (!ag__real_##name)                                                                      \
		ag__real_##name = (ret(*) params)lookup(&objects, #name, false);
#include "hooks.def"
#undef AG_HOOK
	}
	atomic_store(&scanned, true);
}

const char *ag__self_path(void)
{
	return atomic_load(&scanned) && objects.self ? objects.self : "";
}

void *ag__resolve_one(void *slot, const char *name)
{
	/* A hook called before the constructor lists the objects now (and
	 * may find every name resolved by it). */
	if (!atomic_load(&scanned))
		ag__real_init();
	void *p = atomic_load((_Atomic(void *) *)slot);
	if (!p)
		p = lookup(&objects, name, true);
	atomic_store((_Atomic(void *) *)slot, p);
	return p;
}

void ag__resolve_exec(void)
{
#define AG_HOOK(fam, ret, name, params)                                                            \
	if ((!strcmp(#fam, "exec") || !strcmp(#fam, "fd")) && !ag__real_##name)                   \
		ag__resolve_one((void *)&ag__real_##name, #name);
#include "hooks.def"
#undef AG_HOOK
}
