/* agentguard: launches programs under the guard and answers questions about
 * policies. One straight flow per command: parse the arguments, load the
 * policy with the very code the preload uses, set the environment, exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char usage_text[] =
	"usage: agentguard run [--policy FILE] [--workspace DIR] [--log FILE] [--audit] [--no-floor]\n"
	"                      -- CMD [ARG...]\n"
	"       agentguard check FILE...\n"
	"       agentguard explain [--policy FILE] [--workspace DIR] [--json] OP PATH [PATH2]\n"
	"       agentguard explain [...] exec -- CMD [ARG...] | connect HOST:PORT\n"
	"       agentguard log [--follow] [--since TIME] [--rule ID] [--json | --summary] [FILE]\n"
	"       agentguard learn [--policy BASE] [--workspace DIR] LOG\n"
	"       agentguard replay --policy CANDIDATE [--workspace DIR] [--json] LOG\n"
	"       agentguard shim install DIR\n"
	"       agentguard --version\n"
	"\n"
	"run      runs CMD with libagentguard.so preloaded and exits with its status\n"
	"check    validates policy files and warns about rules that can never match\n"
	"explain  prints the decision for an operation and the rule that makes it\n"
	"log      shows the guard's log as a table, as JSON lines, or summed up\n"
	"learn    proposes a policy from an audit-mode run: the base plus the allows it needed\n"
	"replay   what a candidate policy would refuse, and newly allow, in a recorded run\n"
	"shim     installs the shim directory (entries that put the guard back into\n"
	"         interpreters started by programs the preload cannot follow)\n"
	"\n"
	"Each command takes --help. Exit status: 0 success; 1 the answer is \"no\"\n"
	"(log: nothing matched; replay: the candidate refuses something; explain -q:\n"
	"refused); 2 usage or policy error; run exits with CMD's status.\n"
	"See agentguard(1) and agentguard-policy(5).\n";

static const char shim_help[] =
	"usage: agentguard shim install DIR\n"
	"\n"
	"Fills DIR with entries named like the interpreters and tools (sh, bash,\n"
	"python3, git, ...) that all run agentguard, which puts the guard back and\n"
	"runs the real program. agentguard run puts its own shim directory first\n"
	"on PATH. Exit status: 0 done, 1 DIR could not be filled, 2 usage error.\n";

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{"run", cmd_run},     {"check", cmd_check}, {"explain", cmd_explain}, {"log", cmd_log},
	{"learn", cmd_learn}, {"replay", cmd_replay}, {"shim", cmd_shim},
};

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(name, "agentguard") != 0)
		for (const char *const *n = shim_names; *n; n++)
			if (strcmp(name, *n) == 0)
				return shim_main(name, argv);
	if (argc < 2)
		die_usage("no command given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts("agentguard " AG_VERSION);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "shim") == 0 &&
	    (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		fputs(shim_help, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	die_usage("unknown command \"%s\"", argv[1]);
}
