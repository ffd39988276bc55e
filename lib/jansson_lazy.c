/* jansson, for the preload, loaded only by a process that compiles a
 * policy: the first process of a session started without the launcher.
 * Every other guarded process maps the compiled ruleset and never parses
 * JSON, so it should not pay for finding, mapping and relocating another
 * shared object at start (about a tenth of what the guard adds to a
 * fork+exec). These definitions are hidden: the program's own jansson, if
 * it has one, is not touched, and ours is opened RTLD_LOCAL. */
#include <dlfcn.h>
#include <jansson.h>
#include <stdio.h>

static void *sym(const char *name)
{
	static void *lib;
	if (!lib)
		lib = dlopen("libjansson.so.4", RTLD_NOW | RTLD_LOCAL);
	return lib ? dlsym(lib, name) : NULL;
}

#define LAZY(ret, name, params, args)                                                              \
	ret name params                                                                            \
	{                                                                                          \
		static ret(*fn) params;                                                            \
		if (!fn)                                                                           \
			fn = (ret(*) params)sym(#name);                                            \
		return fn args;                                                                    \
	}

/* The way in: the rest is only reached with a tree json_loadb made. */
json_t *json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error)
{
	static json_t *(*fn)(const char *, size_t, size_t, json_error_t *);
	if (!fn)
		fn = (json_t * (*)(const char *, size_t, size_t, json_error_t *)) sym("json_loadb");
	if (fn)
		return fn(buffer, buflen, flags, error);
	if (error) {
		*error = (json_error_t){.line = -1, .column = -1};
		snprintf(error->text, sizeof(error->text), "cannot load libjansson.so.4: %s",
			 dlerror());
	}
	return NULL;
}

void json_delete(json_t *json)
{
	static void (*fn)(json_t *);
	if (!fn)
		fn = (void (*)(json_t *))sym("json_delete");
	fn(json);
}

LAZY(json_t *, json_object_get, (const json_t *object, const char *key), (object, key))
LAZY(size_t, json_array_size, (const json_t *array), (array))
LAZY(json_t *, json_array_get, (const json_t *array, size_t index), (array, index))
LAZY(const char *, json_string_value, (const json_t *string), (string))
LAZY(size_t, json_string_length, (const json_t *string), (string))
LAZY(json_int_t, json_integer_value, (const json_t *integer), (integer))
LAZY(void *, json_object_iter, (json_t * object), (object))
LAZY(void *, json_object_iter_next, (json_t * object, void *iter), (object, iter))
LAZY(const char *, json_object_iter_key, (void *iter), (iter))
LAZY(json_t *, json_object_iter_value, (void *iter), (iter))
LAZY(void *, json_object_key_to_iter, (const char *key), (key))
