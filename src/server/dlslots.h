/*
 * dlslots.h - the download cap (--max-downloads) shared by every node of a
 * fleet on one database (store_ops.download_admit): at most max devices
 * download at once fleet-wide, not per node. A device's slot is refreshed
 * in the database at most every idle/4 seconds (a per-node memo of recent
 * refreshes), so a chunk request costs no SQL most of the time. Used
 * instead of loadshape.h's per-process table when the store is shared.
 */
#ifndef FOTA_SERVER_DLSLOTS_H
#define FOTA_SERVER_DLSLOTS_H

#include "server.h"

/* A chunk or stream request of device id: 0 when it may go on, else the
 * Retry-After in seconds of the 503. A store failure admits (logged): the
 * cap shapes load, it never blocks an update. */
unsigned dlslots_admit(struct server *srv, const char *id);
/* The device's download ended (a terminal status): its slot is free. */
void dlslots_done(struct server *srv, const char *id);

#endif
