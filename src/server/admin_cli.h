/*
 * admin_cli.h - what the parts of fota-admin share: exit codes, options, the
 * admin API call and the output helpers (admin_main.c), and the fleet
 * commands (admin_fleet.c).
 */
#ifndef FOTA_SERVER_ADMIN_CLI_H
#define FOTA_SERVER_ADMIN_CLI_H

#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>

/* exit codes, for scripts */
enum { EX_OK = 0, EX_USAGE = 1, EX_REFUSED = 2, EX_SERVER = 3, EX_LOCAL = 4 };

extern const char *admin_server_url; /* no trailing slash */
extern int admin_json;               /* --json: print the server's JSON */
extern const char *admin_body_ctype; /* Content-Type header of a text body (NULL: JSON) */

/* Print the usage (to stderr with why, else stdout); EX_USAGE or EX_OK. */
int admin_usage(const char *why);
/* Call the admin API: upload (a file of len bytes) or json as the body. On
 * EX_OK *out is the parsed answer (may be NULL) and *raw its text; else the
 * refusal is printed and the exit code returned. */
int admin_call(const char *method, const char *path, const char *json, FILE *upload,
               curl_off_t len, json_t **out, char **raw);
/* A string field ("-" when absent or empty), an integer field. */
const char *admin_js(json_t *o, const char *k);
long long admin_ji(json_t *o, const char *k);
/* GET path and print it with fn (each element of the array key, or the
 * whole answer), or raw with --json. */
int admin_show(const char *path, void (*fn)(json_t *), const char *key);
/* Print an answer with fn, or raw with --json. EX_OK. */
int admin_print_result(const char *raw, json_t *o, void (*fn)(json_t *));
/* prefix "/" url-escaped id into path; 0 or -1 (too long). */
int admin_path_with_id(char *path, size_t n, const char *prefix, const char *id);

/* admin_fleet.c: the commands (argc/argv after the subcommand) */
int admin_cmd_rollout_create(int argc, char **argv);
int admin_cmd_rollout_list(void);
int admin_cmd_rollout_show(int argc, char **argv);
int admin_cmd_rollout_action(const char *action, int argc, char **argv);
int admin_cmd_device_import(int argc, char **argv);
int admin_cmd_device_tag(int argc, char **argv);
int admin_cmd_audit(int argc, char **argv);

#endif
