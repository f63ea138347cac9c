// Databases and caches, recognised by content on any port:
//  * PostgreSQL (frontend/backend protocol 3.0): the startup message's
//    user and database, an SSLRequest (then the TLS handshake's facts).
//  * MySQL/MariaDB: the server's version from its initial handshake.
//  * Redis (RESP): the first command's name.
//  * Memcached (text protocol): the first command's name.
//  * MongoDB (wire protocol): the first command's name, only once the
//    server's reply answers the client's request id (no false positives on
//    other little-endian framed protocols).
// Never kept: passwords (PostgreSQL's password messages, MySQL's auth
// response, Redis AUTH's arguments), keys, values, query text.
#ifndef RUSTNET_DAEMON_DPI_DB_H_
#define RUSTNET_DAEMON_DPI_DB_H_

#include <memory>

#include "daemon/dpi/dissector.h"

namespace rustnet {

#define RUSTNET_DB_ANOMALIES(X)                                  \
  X(kPgMessageTooLong, "postgresql_message_too_long")            \
  X(kPgStartupMalformed, "postgresql_startup_malformed")         \
  X(kMysqlGreetingMalformed, "mysql_greeting_malformed")         \
  X(kRespMalformed, "redis_resp_malformed")                      \
  X(kMongoMessageMalformed, "mongodb_message_malformed")
RUSTNET_DECLARE_DPI_ANOMALIES(db_anomaly, RUSTNET_DB_ANOMALIES)

std::unique_ptr<Dissector> MakePostgresqlDissector();
std::unique_ptr<Dissector> MakeMysqlDissector();
std::unique_ptr<Dissector> MakeRedisDissector();
std::unique_ptr<Dissector> MakeMemcachedDissector();
std::unique_ptr<Dissector> MakeMongodbDissector();

}  // namespace rustnet

#endif  // RUSTNET_DAEMON_DPI_DB_H_
