/* batch.h: `parley --batch`, the JSON-lines face of the client core. */
#ifndef PARLEY_APP_BATCH_H
#define PARLEY_APP_BATCH_H

/* Runs batch mode with parley's full argv. Returns the exit status:
 * 0 after stdin EOF or /quit, 1 cannot connect, 2 usage, 3 login failed,
 * 4 kicked or banned. */
int batch_main(int argc, char **argv);

#endif
