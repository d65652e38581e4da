// The system SQLite (Debian's libsqlite3-dev) for the response cache.
#include <sqlite3.h>
