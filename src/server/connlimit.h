/*
 * connlimit.h - connections at once, in all and per source address,
 * decided in libmicrohttpd's accept-policy callback, and the refusals logged
 * as one summary line per interval.
 *
 * libmicrohttpd's own per-address limit refuses silently except for one
 * warn line per refused connection (a client that retries in a loop floods
 * the log) and never says from where. Here the server counts the open
 * connections of each address itself (IPv4 address, IPv6 /64, as the rate
 * limits key them), refuses past the limit in the accept-policy callback
 * (the socket is closed at once, before any byte is read), and keeps the
 * refusals of the current interval: at its end one line says how many were
 * refused, from how many addresses, and which address was refused most.
 * libmicrohttpd's own "connection limit" lines (its total limit, kept as a
 * backstop) are folded into the same count.
 *
 * Counting happens when libmicrohttpd reports a connection started and
 * closed; the accept decision is made a moment before, so with several
 * worker threads an address may briefly hold up to one connection per
 * thread more than its limit. Thread-safe (one mutex).
 */
#ifndef FOTA_SERVER_CONNLIMIT_H
#define FOTA_SERVER_CONNLIMIT_H

#include <stddef.h>
#include <sys/socket.h>

#define CONNLIMIT_KEY_MAX 48

/* max_total: connections at once (0: no limit); max_per_addr: per address
 * (0: no limit); interval: seconds between summary lines (>= 1). */
void connlimit_init(unsigned max_total, unsigned max_per_addr, unsigned interval);

/* The address key of sa: IPv4 as text, IPv6 by its /64 ("?" if unknown). */
void connlimit_key(const struct sockaddr *sa, char key[CONNLIMIT_KEY_MAX]);

/* Accept-policy decision for a new connection from sa: 1 accept, 0 refuse
 * (the refusal is counted for the summary). */
int connlimit_accept(const struct sockaddr *sa);

/* A connection from key was opened / has closed (every opened one is
 * closed exactly once). */
void connlimit_opened(const char *key);
void connlimit_closed(const char *key);

/* A refusal made by libmicrohttpd itself (address unknown). */
void connlimit_refused_elsewhere(void);

/* Writes the summary line when the interval is over and something was
 * refused (called every fraction of a second by the watchdog thread). */
void connlimit_tick(void);

#endif
