/* cli.h — what the pieces of the fmlua executable share: running chunks
 * under a traceback message handler with Ctrl-C interruption (run.c), the
 * REPL (repl.c) and its tab completion (complete.c). */
#ifndef FM_CLI_H
#define FM_CLI_H

#include <lua.h>

/* The program name put in front of error messages (NULL in the REPL). */
extern const char *cli_progname;

/* Prints "progname: msg" (or just msg when pname is NULL) on stderr. */
void cli_message(const char *pname, const char *msg);
/* If status is not LUA_OK, prints and pops the error message on the top of
 * the stack. Returns status. */
int cli_report(lua_State *L, int status);
/* Calls the function below its narg arguments with a traceback message
 * handler; SIGINT during the call stops it with the error "interrupted!"
 * (Lua code) or FM_EINTERRUPT (engine loops). Returns the lua_pcall status. */
int cli_docall(lua_State *L, int narg, int nres);
/* True when a SIGINT arrived during the last cli_docall (its error, if any,
 * came from Ctrl-C). */
int cli_interrupted(void);
/* The first line of "-v" and of the REPL banner. */
void cli_print_version(void);

/* Runs the read-eval-print loop until end of input (Ctrl-D). */
void cli_repl(lua_State *L);

/* Installs readline tab completion of globals, fm.* and methods over L. */
void cli_complete_init(lua_State *L);

#endif
