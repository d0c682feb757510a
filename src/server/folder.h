/* folder.h: the shared folder's requests on the chat connection (0x08xx,
 * PROTOCOL.md 6.9): list, upload, download, rename, delete. The rules sit
 * here (names, owner or operator, quotas, one upload per name); the files
 * and their metadata in folderstore.c, the bytes in folderxfer.c. */
#ifndef PARLEY_FOLDER_H
#define PARLEY_FOLDER_H

#include "proto.h"

struct conn;

#define FOLDER_LIST_MAX 1000 /* FOLDER_ENTRY frames in one listing */

/* A 0x08xx frame from a logged-in client. */
void folder_on_frame(struct conn *c, const proto_msg *m);

#endif
