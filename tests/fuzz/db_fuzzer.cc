// libFuzzer target: the PostgreSQL, MySQL, Redis, Memcached and MongoDB
// dissectors, fed in arbitrary chunks.
#include "common/flow_key.h"
#include "daemon/dpi/db.h"
#include "tests/fuzz/dissector_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* pg = rustnet::MakePostgresqlDissector().release();
  static const auto* mysql = rustnet::MakeMysqlDissector().release();
  static const auto* redis = rustnet::MakeRedisDissector().release();
  static const auto* memcached = rustnet::MakeMemcachedDissector().release();
  static const auto* mongodb = rustnet::MakeMongodbDissector().release();
  for (const auto* d : {pg, mysql, redis, memcached, mongodb}) {
    rustnet::FuzzDissector(*d, rustnet::kIpProtoTcp, data, size);
  }
  return 0;
}
