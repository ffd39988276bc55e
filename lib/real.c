/* Pointers to the next definition of every hooked symbol, resolved once at
 * load (and on first use, for a hook called before our constructor). */
#include <dlfcn.h>

#include "guard.h"

#define AG_HOOK(fam, ret, name, params) ret(*ag__real_##name) params;
#include "hooks.def"
#undef AG_HOOK

void ag__resolve_real(void)
{
#define AG_HOOK(fam, ret, name, params)                                                            \
	if (!ag__real_##name)                                                                      \
		ag__real_##name = (ret(*) params)dlsym(RTLD_NEXT, #name);
#include "hooks.def"
#undef AG_HOOK
}
